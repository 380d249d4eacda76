import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueReconcileMany } from '../store/jobs.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { seedCatalogue, seedGroup, seedHosts, seedInstances, waitAllSettled } from './support/scheduler-seed.ts';
import { startWorkers } from './support/workers.ts';

let db: TestDatabase;
let workers: Awaited<ReturnType<typeof startWorkers>>;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await workers?.stop();
  await db.drop();
});

/** Per member: its host (null when unplaced) and fault code. */
async function members(groupId: string) {
  return db.sql<{ host_id: string | null; fault: string | null }[]>`
    select i.host_id, i.fault->>'code' as fault from server_group_members m join instances i on i.id = m.instance_id
     where m.group_id = ${groupId}`;
}

function perHost(rows: { host_id: string | null }[]): number[] {
  const counts = new Map<string, number>();
  for (const r of rows) if (r.host_id) counts.set(r.host_id, (counts.get(r.host_id) ?? 0) + 1);
  return [...counts.values()];
}

describe('server-group policies under concurrency', () => {
  it('4 workers placing 4 groups at once never break a policy', async () => {
    const s = await seedCatalogue(db.sql);
    await seedHosts(db.sql, 'sg', 8);
    const anti = await seedGroup(db.sql, s, 'anti', 'anti-affinity');
    const over = await seedGroup(db.sql, s, 'over', 'anti-affinity');
    const two = await seedGroup(db.sql, s, 'two', 'anti-affinity', 2);
    const aff = await seedGroup(db.sql, s, 'aff', 'affinity');
    const ids = [
      ...(await seedInstances(db.sql, s, 'anti', 8, anti)),
      ...(await seedInstances(db.sql, s, 'over', 10, over)),
      ...(await seedInstances(db.sql, s, 'two', 12, two)),
      ...(await seedInstances(db.sql, s, 'aff', 8, aff)),
    ];
    workers = await startWorkers(db.url, 4);
    const started = performance.now();
    await enqueueReconcileMany(db.sql, 'instance', ids.sort());
    await waitAllSettled(db.sql);
    console.log(`placed ${ids.length} group members in ${Math.round(performance.now() - started)} ms`);

    const a = await members(anti);
    expect(a.every((m) => m.host_id)).toBe(true);
    expect(perHost(a)).toEqual(Array(8).fill(1));

    // 10 members, 8 hosts: 8 placed one per host, 2 refused with a reason naming the filter.
    const o = await members(over);
    expect(perHost(o)).toEqual(Array(8).fill(1));
    expect(o.filter((m) => !m.host_id).map((m) => m.fault)).toEqual(['NoValidHost', 'NoValidHost']);
    const [f] = await db.sql<{ message: string }[]>`
      select i.fault->>'message' as message from server_group_members m join instances i on i.id = m.instance_id
       where m.group_id = ${over} and i.host_id is null limit 1`;
    expect(f!.message).toBe('No valid host was found. 8 hosts: 8 rejected by ServerGroupAntiAffinity: holds 1 member(s) of anti-affinity group over (max 1 per host)');

    const t = await members(two);
    expect(t.every((m) => m.host_id)).toBe(true);
    expect(Math.max(...perHost(t))).toBeLessThanOrEqual(2);

    const f2 = await members(aff);
    expect(f2.every((m) => m.host_id)).toBe(true);
    expect(perHost(f2)).toEqual([8]);
  });
});
