import type { Sql } from '../db/connect.ts';
import { agentViews, type AgentView } from '../store/agent-view.ts';
import { hostReads, type HostReads } from './host-reads.ts';

// One per connection pool, i.e. per control plane in this process (tests run several).
const byPool = new WeakMap<Sql, HostReads<AgentView>>();

/** Agents' view reads (their watch after each change, their `agentAssignments` query), batched across hosts. */
export function agentViewReads(sql: Sql): HostReads<AgentView> {
  return hostReads(byPool, sql, (ids) => agentViews(sql, ids));
}
