import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runner } from 'graphile-worker';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect, type Sql } from '../db/connect.ts';
import { startWorker } from '../reconciler/worker.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { enqueueReconcileMany } from '../store/jobs.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

const HOSTS = 6;
const INSTANCES = 120;
const WORKERS = 4;

let db: TestDatabase;
const runners: Runner[] = [];
const pools: Sql[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const r of runners) await r.stop();
  for (const p of pools) await p.end();
  await db.drop();
});

async function seed(sql: Sql): Promise<string[]> {
  const admin = await bootstrapAdmin(sql);
  // Little room: each host fits 5 of these instances by RAM (3 GiB x 1.5 / 896 MiB), some fewer by disk.
  for (let i = 0; i < HOSTS; i++) {
    await sql`insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at)
              values (${'tight-' + i}, 4, 3072, ${i % 2 === 0 ? 40 : 20}, now())`;
  }
  const [flavor] = await sql<{ id: string }[]>`
    insert into flavors (name, vcpus, ram_mb, disk_gb) values ('m.tight', 1, 896, 5) returning id`;
  const [image] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const rows = await sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${admin.projectId}, ${admin.userId}, 'burst-' || g, ${flavor!.id}, ${image!.id} from generate_series(1, ${INSTANCES}) g
    returning id`;
  return rows.map((r) => r.id);
}

describe('placement under concurrency', () => {
  it(`${WORKERS} workers placing ${INSTANCES} instances on ${HOSTS} small hosts never over-commit`, async () => {
    const ids = await seed(db.sql);
    const config = loadConfig({ serviceDownSeconds: 3600, workerConcurrency: 5, sweepIntervalSeconds: 3600 });
    for (let w = 0; w < WORKERS; w++) {
      const sql = connect(db.url, { max: 6 });
      pools.push(sql);
      runners.push(await startWorker({ sql, databaseUrl: db.url, config, log: rootLog() }));
    }
    await enqueueReconcileMany(db.sql, 'instance', ids);

    const deadline = Date.now() + 60_000;
    let pending = INSTANCES;
    while (pending > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from instances where host_id is null and vm_state <> 'error'`;
      pending = row!.n;
    }
    expect(pending).toBe(0);

    const hosts = await db.sql<{ name: string; used_vcpus: number; used_memory_mb: number; used_disk_gb: number;
      cap_vcpus: number; cap_mem: number; cap_disk: number; alloc_mem: number; alloc_disk: number; alloc_vcpus: number }[]>`
      select h.name, h.used_vcpus, h.used_memory_mb, h.used_disk_gb,
             capacity_vcpus(h) as cap_vcpus, capacity_memory_mb(h) as cap_mem, capacity_disk_gb(h) as cap_disk,
             coalesce(sum(a.memory_mb), 0)::int as alloc_mem, coalesce(sum(a.disk_gb), 0)::int as alloc_disk,
             coalesce(sum(a.vcpus), 0)::int as alloc_vcpus
        from hosts h left join allocations a on a.host_id = h.id group by h.id order by h.name`;
    let placed = 0;
    for (const h of hosts) {
      expect(h.used_memory_mb).toBeLessThanOrEqual(h.cap_mem);
      expect(h.used_disk_gb).toBeLessThanOrEqual(h.cap_disk);
      expect(h.used_vcpus).toBeLessThanOrEqual(h.cap_vcpus);
      // The counters the claim relies on equal the allocations they summarise.
      expect([h.used_memory_mb, h.used_disk_gb, h.used_vcpus]).toEqual([h.alloc_mem, h.alloc_disk, h.alloc_vcpus]);
      placed += h.alloc_mem / 896;
    }
    // Capacity: RAM allows 5 per host; disk allows 8 (40 GiB) or 4 (20 GiB): 3 x 5 + 3 x 4 = 27.
    expect(placed).toBe(27);

    const states = await db.sql<{ placed: boolean; vm_state: string; fault_code: string | null; allocs: number }[]>`
      select i.host_id is not null as placed, i.vm_state, i.fault->>'code' as fault_code,
             (select count(*)::int from allocations a where a.instance_id = i.id and a.host_id = i.host_id) as allocs
        from instances i`;
    for (const s of states) {
      if (s.placed) expect(s.allocs).toBe(1);
      else expect([s.vm_state, s.fault_code]).toEqual(['error', 'NoValidHost']);
    }
    expect(states.filter((s) => s.placed)).toHaveLength(27);
    const [orphans] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from allocations a join instances i on i.id = a.instance_id
       where i.host_id is distinct from a.host_id`;
    expect(orphans!.n).toBe(0);
  });

  it('explains a refusal per filter in the fault', async () => {
    const [f] = await db.sql<{ message: string }[]>`
      select fault->>'message' as message from instances where vm_state = 'error' limit 1`;
    expect(f!.message).toMatch(/^No valid host was found\. 6 hosts: /);
    expect(f!.message).toMatch(/rejected by (RAM|Disk)/);
  });
});
