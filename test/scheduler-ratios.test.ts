import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryClaim } from '../reconciler/placement/claim.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { seedCatalogue, seedHosts, seedInstances } from './support/scheduler-seed.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function capacity(name: string) {
  const [r] = await db.sql<{ mem: number; vcpus: number; free: number; ratio: number }[]>`
    select capacity_memory_mb(h) as mem, capacity_vcpus(h) as vcpus, free_memory_mb as free, effective_ram_ratio as ratio
      from hosts h where name = ${name}`;
  return r!;
}

describe('effective allocation ratios (kept on the host row by triggers)', () => {
  it('take the smallest aggregate value, else the host ratio, else the default; reserved comes off first', async () => {
    await seedHosts(db.sql, 'r', 1, { vcpus: 4, memoryMb: 4096, diskGb: 100 });
    await db.sql`update hosts set reserved_memory_mb = 1024 where name = 'r-0'`;
    expect(await capacity('r-0')).toMatchObject({ mem: 4608, ratio: 1.5, free: 4608 }); // (4096 − 1024) × 1.5

    await db.sql`update hosts set ram_allocation_ratio = 2.0 where name = 'r-0'`;
    expect((await capacity('r-0')).mem).toBe(6144);

    const [a] = await db.sql<{ id: string }[]>`insert into aggregates (name, metadata) values ('a', '{"ram_allocation_ratio": "1.0"}') returning id`;
    const [b] = await db.sql<{ id: string }[]>`insert into aggregates (name, metadata) values ('b', '{"ram_allocation_ratio": "oops"}') returning id`;
    await db.sql`insert into aggregate_hosts (aggregate_id, host_id) select ${a!.id}, id from hosts where name = 'r-0'`;
    await db.sql`insert into aggregate_hosts (aggregate_id, host_id) select ${b!.id}, id from hosts where name = 'r-0'`;
    expect((await capacity('r-0')).mem).toBe(3072); // aggregate 1.0 wins over the host's 2.0; "oops" is ignored

    await db.sql`update aggregates set metadata = '{"ram_allocation_ratio": "0.5"}' where id = ${b!.id}`;
    expect((await capacity('r-0')).mem).toBe(1536); // the smaller of 1.0 and 0.5

    await db.sql`delete from aggregates where id = ${b!.id}`;
    expect((await capacity('r-0')).mem).toBe(3072);
    await db.sql`delete from aggregate_hosts where aggregate_id = ${a!.id}`;
    expect((await capacity('r-0')).mem).toBe(6144); // back to the host's own ratio
  });

  it('bind claims exactly: the trigger refuses one past the aggregate-lowered capacity', async () => {
    const s = await seedCatalogue(db.sql, { vcpus: 1, ramMb: 1024, diskGb: 1 });
    await seedHosts(db.sql, 'c', 1, { vcpus: 4, memoryMb: 2048, diskGb: 100 });
    const [a] = await db.sql<{ id: string }[]>`insert into aggregates (name, metadata) values ('tight', '{"ram_allocation_ratio": "1.0"}') returning id`;
    const [h] = await db.sql<{ id: string }[]>`select id from hosts where name = 'c-0'`;
    await db.sql`insert into aggregate_hosts (aggregate_id, host_id) values (${a!.id}, ${h!.id})`;
    const ids = await seedInstances(db.sql, s, 'claim', 3);
    const claim = (id: string) =>
      db.sql.begin((tx) => tryClaim(tx, { instanceId: id, hostId: h!.id, vcpus: 1, memoryMb: 1024, diskGb: 1 }));
    expect([await claim(ids[0]!), await claim(ids[1]!), await claim(ids[2]!)]).toEqual([true, true, false]);
    expect(await capacity('c-0')).toMatchObject({ mem: 2048, free: 0 });
  });

  it('cost: changing the ratio of an aggregate of 1,000 hosts rewrites them once', async () => {
    await seedHosts(db.sql, 'big', 1000);
    const [a] = await db.sql<{ id: string }[]>`insert into aggregates (name) values ('fleet') returning id`;
    let t = performance.now();
    await db.sql`insert into aggregate_hosts (aggregate_id, host_id) select ${a!.id}, id from hosts where name like 'big-%'`;
    const join = performance.now() - t;
    t = performance.now();
    await db.sql`update aggregates set metadata = '{"cpu_allocation_ratio": "4.0"}' where id = ${a!.id}`;
    const change = performance.now() - t;
    t = performance.now();
    await db.sql`update aggregates set metadata = '{"cpu_allocation_ratio": "4.0", "note": "x"}' where id = ${a!.id}`;
    const unrelated = performance.now() - t;
    console.log(`1,000 hosts: join aggregate ${join.toFixed(0)} ms, change its cpu ratio ${change.toFixed(0)} ms, unrelated metadata edit ${unrelated.toFixed(1)} ms`);
    const [r] = await db.sql<{ n: number }[]>`select count(*)::int as n from hosts where name like 'big-%' and capacity_vcpus(hosts) = 64`;
    expect(r!.n).toBe(1000);
  });
});
