import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import { PlacementQueue } from '../reconciler/instance/place-queue.ts';
import { dropDatabase, freshDatabase, seedSqlFleet } from './fleet-db.ts';

export interface BatchThroughput {
  hosts: number;
  placed: number;
  seconds: number;
}

/**
 * Placement throughput when new instances arrive in bulk: `callers` concurrent place_instances
 * jobs of `jobSize` instances each, as createInstances requests of that size enqueue them, given
 * to a `PlacementQueue` as the worker's task gives them (jobs waiting together are placed
 * together). Hosts and instances are inserted by SQL, so this is the placement step alone: no
 * API, no agents, no job queue.
 */
export async function batchPlacementThroughput(
  baseUrl: string,
  hosts: number,
  instances: number,
  o: { callers: number; jobSize: number },
): Promise<BatchThroughput> {
  const name = `fleet_batch_${hosts}`;
  const url = await freshDatabase(baseUrl, name);
  await installSchema(url);
  const sql = connect(url, { max: o.callers + 1 });
  try {
    const ids = await seedSqlFleet(sql, hosts, instances);
    const jobs: string[][] = [];
    for (let i = 0; i < ids.length; i += o.jobSize) jobs.push(ids.slice(i, i + o.jobSize));
    const placements = new PlacementQueue(sql, { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() });
    let next = 0;
    let placed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: o.callers }, async () => {
        while (next < jobs.length) {
          const r = await placements.place(jobs[next++]!);
          placed += r.placed;
        }
      }),
    );
    return { hosts, placed, seconds: (performance.now() - started) / 1000 };
  } finally {
    await sql.end();
    await dropDatabase(baseUrl, name);
  }
}
