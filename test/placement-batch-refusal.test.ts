import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { placeBatch } from '../reconciler/instance/place-batch.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

/** New instances of one flavor, each with its running create action (as createInstances writes them). */
async function instancesOf(projectId: string, userId: string, flavorId: string, imageId: string, n: number): Promise<string[]> {
  const rows = await db.sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${projectId}, ${userId}, 'r-' || g, ${flavorId}, ${imageId} from generate_series(1, ${n}) g returning id`;
  const ids = rows.map((r) => r.id);
  await db.sql`insert into instance_actions (instance_id, project_id, action, request_id)
               select id, ${projectId}, 'create', 'test' from unnest(${ids}::uuid[]) id`;
  return ids;
}

describe('batched placement when the allocations trigger refuses a claim', () => {
  it('hands only the refused group to the one-at-a-time path and places the rest of the chunk', async () => {
    const admin = await bootstrapAdmin(db.sql);
    // Only the Compute filter: the scheduler no longer checks capacity, the trigger still does.
    await db.sql`insert into scheduler_configs (version, spec) values (1, '{"filters": ["Compute"]}')`;
    const [host] = await db.sql<{ id: string }[]>`
      insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, cpu_allocation_ratio)
      values ('only', 4, 8192, 100, now(), 1.0) returning id`;
    const [big] = await db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('r.big', 1, 4096, 1) returning id`;
    const [tiny] = await db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('r.tiny', 1, 256, 1) returning id`;
    const [image] = await db.sql<{ id: string }[]>`
      insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
    // Five big ones need 20 GiB of the host's 12: refused whichever group goes first. One tiny one fits.
    const bigIds = await instancesOf(admin.projectId, admin.userId, big!.id, image!.id, 5);
    const tinyIds = await instancesOf(admin.projectId, admin.userId, tiny!.id, image!.id, 1);

    const r = await placeBatch(db.sql, [...bigIds, ...tinyIds], { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() });
    expect([...r.placed]).toEqual(tinyIds);
    expect([...r.deferred].sort()).toEqual([...bigIds].sort());

    const rows = await db.sql<{ id: string; host_id: string | null; task_state: string | null; allocs: number; schedules: number }[]>`
      select i.id, i.host_id, i.task_state,
             (select count(*)::int from allocations a where a.instance_id = i.id) as allocs,
             (select count(*)::int from instance_action_events e join instance_actions ac on ac.id = e.action_id
               where ac.instance_id = i.id and e.event = 'schedule') as schedules
        from instances i`;
    for (const row of rows) {
      if (tinyIds.includes(row.id)) expect([row.host_id, row.task_state, row.allocs, row.schedules]).toEqual([host!.id, 'spawning', 1, 1]);
      else expect([row.host_id, row.task_state, row.allocs, row.schedules]).toEqual([null, 'scheduling', 0, 0]);
    }
    const [usage] = await db.sql<{ used: number[] }[]>`select array[used_vcpus, used_memory_mb, used_disk_gb] as used from hosts`;
    expect(usage!.used).toEqual([1, 256, 1]);
    // The refused ones wait for their own reconcile.
    const jobs = await db.sql<{ key: string }[]>`
      select j.key from graphile_worker._private_jobs j
       where j.task_id = (select id from graphile_worker._private_tasks where identifier = 'reconcile_instance')`;
    expect(jobs.map((j) => j.key).sort()).toEqual(bigIds.map((id) => `instance:${id}`).sort());
  });
});
