import { Batcher } from '../core/batcher.ts';
import type { Sql } from '../db/connect.ts';
import { pendingConsoleSessions, type PendingConsoleSession } from '../store/console-tokens.ts';

/**
 * Agents' reads of the console sessions waiting for their host (their agentConsoleSessions watch:
 * at subscribe, then after each change), batched as agent-view-reads.ts batches their views: every
 * agent of a fleet subscribes as it starts, and a statement each was a fifth of an enrollment's.
 * A read joins the next flush to start, so it sees every change committed before it was asked for.
 */
export interface ConsoleSessionReads {
  read(hostId: string): Promise<PendingConsoleSession[]>;
}

// One per connection pool, i.e. per control plane in this process (tests run several).
const byPool = new WeakMap<Sql, ConsoleSessionReads>();

/** `dialSeconds`: the setting of the control plane that owns the pool (one per pool). */
export function consoleSessionReads(sql: Sql, dialSeconds: number): ConsoleSessionReads {
  let r = byPool.get(sql);
  if (!r) {
    const batch = new Batcher(async (ids: string[]) => {
      const sessions = await pendingConsoleSessions(sql, [...new Set(ids)], dialSeconds);
      return ids.map((id) => sessions.get(id)!);
    }, { lingerMs: 2, maxBatch: 1000, maxInFlight: 2 });
    r = { read: (hostId) => batch.add(hostId) };
    byPool.set(sql, r);
  }
  return r;
}
