import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import { reconcileInstance } from '../reconciler/instance/reconcile.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { dropDatabase, freshDatabase } from './fleet-db.ts';

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
    const admin = await bootstrapAdmin(sql);
    await sql`
      insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, hypervisor_type, hypervisor_version, architecture)
      select 'h-' || g, 16, 65536, 1000, now(), 'fake', '1.0', 'x86_64' from generate_series(1, ${hosts}) g`;
    await sql`analyze hosts`;
    const [f] = await sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('p.small', 1, 512, 1) returning id`;
    const [img] = await sql<{ id: string }[]>`
      insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
    const rows = await sql<{ id: string }[]>`
      insert into instances (project_id, user_id, name, flavor_id, image_id)
      select ${admin.projectId}, ${admin.userId}, 'p-' || g, ${f!.id}, ${img!.id} from generate_series(1, ${placements}) g returning id`;
    const deps = { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() };
    const samples: number[] = [];
    for (const { id } of rows) {
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
