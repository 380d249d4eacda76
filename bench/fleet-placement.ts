import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import { reconcileInstance } from '../reconciler/instance/reconcile.ts';
import { dropDatabase, freshDatabase, seedSqlFleet } from './fleet-db.ts';

const WARM_UP = 20;

export interface PlacementCost {
  hosts: number;
  samples: number[];
}

/**
 * The cost of one placement as the fleet grows. Hosts are inserted by SQL (running 100k agents on
 * one machine is not possible); each sample is one `reconcileInstance` of an unplaced instance —
 * the function the worker's task runs — called one at a time, so it is the cost of the step
 * itself with no queueing or contention.
 */
export async function placementCost(baseUrl: string, hosts: number, placements: number): Promise<PlacementCost> {
  if (placements <= WARM_UP) throw new Error(`placement samples must exceed the ${WARM_UP} warm-up calls`);
  const name = `fleet_placement_${hosts}`;
  const url = await freshDatabase(baseUrl, name);
  await installSchema(url);
  const sql = connect(url, { max: 2 });
  try {
    const ids = await seedSqlFleet(sql, hosts, placements);
    const deps = { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() };
    const samples: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      const r = await reconcileInstance(sql, id, deps);
      samples.push(performance.now() - t);
      if (!r.outcome.startsWith('placed')) throw new Error(`instance ${id} not placed: ${r.outcome}`);
    }
    // The first calls pay for JIT warm-up and cold caches, not for the fleet's size.
    return { hosts, samples: samples.slice(WARM_UP) };
  } finally {
    await sql.end();
    await dropDatabase(baseUrl, name);
  }
}
