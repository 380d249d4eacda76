import type { Sql } from '../db/connect.ts';
import { renewLeases, type Lease } from '../store/host-leases.ts';
import { applyInstanceReports, type HostReport } from '../store/instance-reports.ts';
import { Batcher } from '../core/batcher.ts';

/**
 * The agent API's write batches: heartbeat mutations (agents of the previous release, credential
 * checks: connected agents' leases are renewed from their sockets, see agent-sockets.ts) and
 * instance reports of every host talking to this API process go to the database as a few
 * statements per flush instead of a transaction each.
 * Heartbeats may wait (a lease is tens of seconds); reports sit on the path to ACTIVE, so they
 * linger only briefly and otherwise ride on the flush already under way.
 */
export interface AgentBatches {
  heartbeats: Batcher<string, Lease | null>;
  reports: Batcher<HostReport, boolean>;
}

// One set per connection pool, i.e. per control plane in this process (tests run several).
const byPool = new WeakMap<Sql, AgentBatches>();

export function agentBatches(sql: Sql): AgentBatches {
  let b = byPool.get(sql);
  if (!b) {
    b = {
      heartbeats: new Batcher((ids) => renewLeases(sql, ids), { lingerMs: 100, maxBatch: 5000, maxInFlight: 1 }),
      reports: new Batcher((rs) => applyInstanceReports(sql, rs), { lingerMs: 5, maxBatch: 1000, maxInFlight: 2 }),
    };
    byPool.set(sql, b);
  }
  return b;
}
