import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import { placeBatch } from '../reconciler/instance/place-batch.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { dropDatabase, freshDatabase } from './fleet-db.ts';

export interface BatchThroughput {
  hosts: number;
  placed: number;
  seconds: number;
}

/**
 * Placement throughput when new instances arrive in bulk: `callers` concurrent callers of
 * `placeBatch` (the function the place_instances task runs) over jobs of `jobSize` instances, as
 * createInstances requests of that size would enqueue them. Hosts and instances are inserted by
 * SQL, so this is the placement step alone: no API, no agents, no job queue.
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
      select ${admin.projectId}, ${admin.userId}, 'p-' || g, ${f!.id}, ${img!.id} from generate_series(1, ${instances}) g returning id`;
    await sql`analyze instances`;
    const jobs: string[][] = [];
    for (let i = 0; i < rows.length; i += o.jobSize) jobs.push(rows.slice(i, i + o.jobSize).map((r) => r.id));
    const deps = { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() };
    let next = 0;
    let placed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: o.callers }, async () => {
        while (next < jobs.length) {
          const r = await placeBatch(sql, jobs[next++]!, deps);
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
