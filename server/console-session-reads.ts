import type { Sql } from '../db/connect.ts';
import { pendingConsoleSessions, type PendingConsoleSession } from '../store/console-tokens.ts';
import { hostReads, type HostReads } from './host-reads.ts';

// One per connection pool, i.e. per control plane in this process (tests run several).
const byPool = new WeakMap<Sql, HostReads<PendingConsoleSession[]>>();

/**
 * Agents' reads of the console sessions waiting for their host (their agentConsoleSessions watch:
 * at subscribe, then after each change), batched across hosts: every agent of a fleet subscribes as
 * it starts. `dialSeconds`: the setting of the control plane that owns the pool (one per pool).
 */
export function consoleSessionReads(sql: Sql, dialSeconds: number): HostReads<PendingConsoleSession[]> {
  return hostReads(byPool, sql, (ids) => pendingConsoleSessions(sql, ids, dialSeconds));
}
