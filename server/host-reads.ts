import { Batcher } from '../core/batcher.ts';
import type { Sql } from '../db/connect.ts';

/** One host's read, answered from a read of many hosts at once. */
export interface HostReads<T> {
  read(hostId: string): Promise<T>;
}

/**
 * Agents' per-host reads batched per connection pool: the reads of every host asking at about
 * the same time go to the database as one `readMany` (a statement's own cost, not its few rows,
 * was most of a read). A read joins the next flush to start, never one under way (see Batcher), so
 * it sees every change committed before it was asked for, as a watch requires. A host asked for
 * twice in one flush is read once; both get the same value, to read only.
 *
 * Linger 2 ms: a read sits on the path from a change to the agent acting on it, and the reads one
 * transaction's notifications wake are asked for within a tick or two of each other; under load the
 * batches grow anyway, with the reads asked for while two flushes are under way. At most 1,000
 * hosts a flush: a fleet's worth.
 */
export function hostReads<T>(
  byPool: WeakMap<Sql, HostReads<T>>,
  sql: Sql,
  readMany: (hostIds: string[]) => Promise<Map<string, T>>,
): HostReads<T> {
  let r = byPool.get(sql);
  if (!r) {
    const batch = new Batcher(async (ids: string[]) => {
      const values = await readMany([...new Set(ids)]);
      return ids.map((id) => values.get(id)!);
    }, { lingerMs: 2, maxBatch: 1000, maxInFlight: 2 });
    r = { read: (hostId) => batch.add(hostId) };
    byPool.set(sql, r);
  }
  return r;
}
