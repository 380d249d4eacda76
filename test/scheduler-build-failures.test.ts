import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAllHosts } from '../reconciler/placement/hosts.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { seedCatalogue, seedHosts, seedInstances } from './support/scheduler-seed.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const failures = async () => Object.fromEntries((await loadAllHosts(db.sql, 3600)).map((h) => [h.name, h.buildFailures]));

describe('build failures per host (for the BuildFailure weigher)', () => {
  it('count each reschedule away from a host and clear on its next successful build', async () => {
    const s = await seedCatalogue(db.sql);
    await seedHosts(db.sql, 'bf', 2);
    const [a, b, c] = await seedInstances(db.sql, s, 'bf', 3);
    const [h0] = await db.sql<{ id: string }[]>`select id from hosts where name = 'bf-0'`;
    // What the reconciler's rescheduleAfterFailure writes: the failed host appended, the host cleared.
    for (const id of [a!, b!]) {
      await db.sql`update instances set failed_host_ids = array_append(failed_host_ids, ${h0!.id}::uuid) where id = ${id}`;
    }
    expect(await failures()).toEqual({ 'bf-0': 2, 'bf-1': 0 });
    await db.sql`update instances set host_id = ${h0!.id} where id = ${c!}`;
    await db.sql`update instances set vm_state = 'active' where id = ${c!}`;
    expect(await failures()).toEqual({ 'bf-0': 0, 'bf-1': 0 });
  });
});
