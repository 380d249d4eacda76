import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runner } from 'graphile-worker';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect, type Sql } from '../db/connect.ts';
import { startWorker } from '../reconciler/worker.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { enqueueBatch, enqueueReconcileMany } from '../store/jobs.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

const HOSTS = 6;
const PROJECTS = 3;
const PER_PROJECT = 30;
const WORKERS = 3;

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

/** Tight hosts (as in placement-concurrency), and per project a burst of plain new instances, one with a hint. */
async function seed(sql: Sql): Promise<{ projectId: string; ids: string[] }[]> {
  const admin = await bootstrapAdmin(sql);
  for (let i = 0; i < HOSTS; i++) {
    await sql`insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at)
              values (${'tight-' + i}, 4, 3072, ${i % 2 === 0 ? 40 : 20}, now())`;
  }
  const [flavor] = await sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('m.tight', 1, 896, 5) returning id`;
  const [image] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const out = [];
  for (let p = 0; p < PROJECTS; p++) {
    const [project] = await sql<{ id: string }[]>`insert into projects (name) values (${'batch-' + p}) returning id`;
    const rows = await sql<{ id: string }[]>`
      insert into instances (project_id, user_id, name, flavor_id, image_id, scheduler_hints)
      select ${project!.id}, ${admin.userId}, 'b' || ${p} || '-' || g, ${flavor!.id}, ${image!.id},
             case when g = 1 then '{"differentHost": []}'::jsonb else '{}'::jsonb end
        from generate_series(1, ${PER_PROJECT}) g
      returning id`;
    await sql`insert into instance_actions (instance_id, project_id, action, request_id)
              select id, ${project!.id}, 'create', 'test' from unnest(${rows.map((r) => r.id)}::uuid[]) id`;
    out.push({ projectId: project!.id, ids: rows.map((r) => r.id) });
  }
  return out;
}

describe('batched placement', () => {
  it('places bursts of several projects exactly, alongside one-at-a-time reconciles of the same instances', async () => {
    const projects = await seed(db.sql);
    const config = loadConfig({ serviceDownSeconds: 3600, workerConcurrency: 5, sweepIntervalSeconds: 3600 });
    for (let w = 0; w < WORKERS; w++) {
      const sql = connect(db.url, { max: 6 });
      pools.push(sql);
      runners.push(await startWorker({ sql, databaseUrl: db.url, config, log: rootLog() }));
    }
    // Each project's burst in two jobs, and the last
    // project's also reconciled one by one at the same time: both paths lock the rows, so each
    // instance is placed once.
    for (const p of projects) {
      await enqueueBatch(db.sql, 'place_instances', p.ids.slice(0, PER_PROJECT / 2));
      await enqueueBatch(db.sql, 'place_instances', p.ids.slice(PER_PROJECT / 2));
    }
    await enqueueReconcileMany(db.sql, 'instance', projects.at(-1)!.ids);

    const deadline = Date.now() + 60_000;
    let pending = PROJECTS * PER_PROJECT;
    while (pending > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from instances where host_id is null and vm_state <> 'error'`;
      pending = row!.n;
    }
    expect(pending).toBe(0);

    const hosts = await db.sql<{ used: number[]; cap: number[]; alloc: number[] }[]>`
      select array[h.used_vcpus, h.used_memory_mb, h.used_disk_gb] as used,
             array[capacity_vcpus(h), capacity_memory_mb(h), capacity_disk_gb(h)] as cap,
             array[coalesce(sum(a.vcpus), 0), coalesce(sum(a.memory_mb), 0), coalesce(sum(a.disk_gb), 0)]::int[] as alloc
        from hosts h left join allocations a on a.host_id = h.id group by h.id`;
    for (const h of hosts) {
      h.used.forEach((u, i) => expect(u).toBeLessThanOrEqual(h.cap[i]!));
      expect(h.used).toEqual(h.alloc);
    }
    const states = await db.sql<{ placed: boolean; vm_state: string; task_state: string | null; fault_code: string | null;
      allocs: number; schedules: number }[]>`
      select i.host_id is not null as placed, i.vm_state, i.task_state, i.fault->>'code' as fault_code,
             (select count(*)::int from allocations a where a.instance_id = i.id) as allocs,
             (select count(*)::int from instance_action_events e join instance_actions ac on ac.id = e.action_id
               where ac.instance_id = i.id and e.event = 'schedule' and e.result = 'success') as schedules
        from instances i`;
    // Capacity: RAM allows 5 per host; disk allows 8 (40 GiB) or 4 (20 GiB): 3 x 5 + 3 x 4 = 27.
    expect(states.filter((s) => s.placed)).toHaveLength(27);
    for (const s of states) {
      if (s.placed) expect([s.task_state, s.allocs, s.schedules]).toEqual(['spawning', 1, 1]);
      else expect([s.vm_state, s.fault_code, s.allocs]).toEqual(['error', 'NoValidHost', 0]);
    }
  });
});
