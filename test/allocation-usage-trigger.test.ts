import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../db/connect.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
let hosts: { id: string; name: string }[];
let instances: string[];

/** Two hosts of 4 vCPUs at ratio 1 (4 claims of 1 vCPU each) and ten unplaced instances. */
beforeAll(async () => {
  db = await createTestDatabase();
  const admin = await bootstrapAdmin(db.sql);
  hosts = await db.sql<{ id: string; name: string }[]>`
    insert into hosts (name, vcpus, memory_mb, disk_gb, cpu_allocation_ratio)
    select 'usage-' || g, 4, 8192, 100, 1.0 from generate_series(1, 2) g returning id, name`;
  hosts.sort((a, b) => a.name.localeCompare(b.name));
  const [flavor] = await db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('u.1', 1, 512, 1) returning id`;
  const [image] = await db.sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const rows = await db.sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${admin.projectId}, ${admin.userId}, 'u-' || g, ${flavor!.id}, ${image!.id} from generate_series(1, 10) g returning id`;
  instances = rows.map((r) => r.id);
});
afterAll(async () => db.drop());

/** Each host's counters beside the sum of its allocations. */
async function usage(sql: Sql) {
  return sql<{ name: string; used: number[]; summed: number[] }[]>`
    select h.name, array[h.used_vcpus, h.used_memory_mb, h.used_disk_gb] as used,
           array[coalesce(sum(a.vcpus), 0), coalesce(sum(a.memory_mb), 0), coalesce(sum(a.disk_gb), 0)]::int[] as summed
      from hosts h left join allocations a on a.host_id = h.id group by h.id order by h.name`;
}

async function claim(instanceIds: string[], hostIds: string[], vcpus = 1): Promise<void> {
  await db.sql`insert into allocations (instance_id, host_id, vcpus, memory_mb, disk_gb)
               select i, h, ${vcpus}, 512, 1 from unnest(${instanceIds}::uuid[], ${hostIds}::uuid[]) as c(i, h)`;
}

describe('allocation usage trigger (statement level)', () => {
  it('refuses a multi-row insert that overfills one host as a whole, leaving the counters equal to the sums', async () => {
    const [a, b] = hosts;
    // 3 on host 1 and 2 on host 2 fit; then 2 more on host 1 and 1 on host 2 would make host 1 hold 5 of 4.
    await claim(instances.slice(0, 5), [a!.id, a!.id, a!.id, b!.id, b!.id]);
    await expect(claim(instances.slice(5, 8), [a!.id, a!.id, b!.id])).rejects.toMatchObject({ code: 'OR001' });
    const rows = await usage(db.sql);
    expect(rows.map((r) => [r.name, r.used])).toEqual([['usage-1', [3, 1536, 3]], ['usage-2', [2, 1024, 2]]]);
    for (const r of rows) expect(r.used).toEqual(r.summed);
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from allocations`;
    expect(n!.n).toBe(5);
  });

  it('keeps the counters exact through a multi-row insert that fits, updates and deletes', async () => {
    const [a, b] = hosts;
    await claim(instances.slice(5, 8), [a!.id, b!.id, b!.id]); // host 1: 4 of 4, host 2: 4 of 4
    await db.sql`update allocations set vcpus = 0 where instance_id = any(${instances.slice(0, 2)}::uuid[])`;
    await db.sql`delete from allocations where instance_id = any(${instances.slice(3, 5)}::uuid[])`;
    const rows = await usage(db.sql);
    expect(rows.map((r) => [r.name, r.used])).toEqual([['usage-1', [2, 2048, 4]], ['usage-2', [2, 1024, 2]]]);
    for (const r of rows) expect(r.used).toEqual(r.summed);
  });

  it('refuses an update that grows an allocation past capacity, and one that moves allocations onto a full host', async () => {
    const [a, b] = hosts;
    await expect(db.sql`update allocations set vcpus = vcpus + 3 where instance_id = ${instances[2]!}`).rejects.toMatchObject({ code: 'OR001' });
    await claim(instances.slice(3, 5), [b!.id, b!.id]); // host 2: 4 of 4
    await expect(db.sql`update allocations set host_id = ${b!.id} where instance_id = ${instances[2]!} and host_id = ${a!.id}`)
      .rejects.toMatchObject({ code: 'OR001' });
    // A release on a host whose capacity was lowered below its usage still goes through.
    await db.sql`update hosts set vcpus = 2 where id = ${b!.id}`;
    await db.sql`delete from allocations where instance_id = ${instances[3]!}`;
    const rows = await usage(db.sql);
    expect(rows.map((r) => [r.name, r.used])).toEqual([['usage-1', [2, 2048, 4]], ['usage-2', [3, 1536, 3]]]);
    for (const r of rows) expect(r.used).toEqual(r.summed);
  });

  it('publishes a host change for what its agent reads, not for usage', async () => {
    const [a] = hosts;
    const heard: string[] = [];
    const listener = await db.sql.listen('orrery_changes', (p) => {
      const m = JSON.parse(p) as { kind: string; hostId: string };
      if (m.kind === 'host') heard.push(m.hostId);
    });
    await db.sql`delete from allocations where instance_id = ${instances[2]!}`;
    await db.sql`update hosts set last_heartbeat_at = now() where id = ${a!.id}`;
    await db.sql`update hosts set enabled = false where id = ${a!.id}`;
    await new Promise((r) => setTimeout(r, 200));
    await listener.unlisten();
    expect(heard).toEqual([a!.id]);
  });
});
