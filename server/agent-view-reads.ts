import { Batcher } from '../core/batcher.ts';
import type { Sql } from '../db/connect.ts';
import { agentViews, type AgentView } from '../store/agent-view.ts';

/**
 * Agents' view reads (their watch after each change, their `agentAssignments` query), batched:
 * the reads of every host asking at about the same time go to the database as one `agentViews`,
 * three statements for them all instead of three each (a statement's own cost, not its few rows,
 * was most of a read). A read joins the next flush to start, never one already under way (see
 * Batcher), so it sees every change committed before it was asked for, as the watch requires.
 *
 * Linger 2 ms: a read sits on the path from a change to the agent acting on it (a build to
 * ACTIVE), and the reads one transaction's notifications wake are asked for within a tick or two
 * of each other; under load the batches grow anyway, with the reads asked for while two flushes
 * (six of the pool's connections) are under way. At most 1,000 hosts a flush: a fleet's worth, some
 * thousands of rows.
 */
export interface AgentViewReads {
  read(hostId: string): Promise<AgentView>;
}

// One per connection pool, i.e. per control plane in this process (tests run several).
const byPool = new WeakMap<Sql, AgentViewReads>();

export function agentViewReads(sql: Sql): AgentViewReads {
  let r = byPool.get(sql);
  if (!r) {
    const batch = new Batcher((ids: string[]) => readViews(sql, ids), { lingerMs: 2, maxBatch: 1000, maxInFlight: 2 });
    r = { read: (hostId) => batch.add(hostId) };
    byPool.set(sql, r);
  }
  return r;
}

/** A host asked for twice in one batch (an agent's watch and its query) is read once; both get the same view, to read only. */
async function readViews(sql: Sql, hostIds: string[]): Promise<AgentView[]> {
  const views = await agentViews(sql, [...new Set(hostIds)]);
  return hostIds.map((id) => views.get(id)!);
}
