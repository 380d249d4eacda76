import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts, type FakeHost } from './support/fake-agents.ts';
import { createFlavor, deleteInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: FakeHost[] & { stop(): Promise<void> };
const projects: Record<'a' | 'b', { client: OrreryClient; projectId: string; userId: string }> = {} as never;
let imageId: string;

/** One host, where resizes may stay: a resize there needs no second host to confirm or revert. */
beforeAll(async () => {
  tcp = await startTestControlPlane({ config: { allowResizeToSameHost: true } });
  await createFlavor(tcp.admin, 'u.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'u.medium', 2, 1024, 2);
  imageId = await seedImage(tcp.db.sql, tcp.adminProjectId);
  projects.a = await tcp.userClient('usage-a', 'usage-a-user', ['member']);
  projects.b = await tcp.userClient('usage-b', 'usage-b-user', ['member']);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'solo' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

/** The counters of every project using anything, beside the same usage counted from the rows. */
async function countersAndRecount() {
  const counters = await tcp.db.sql<{ project_id: string; instances: number; cores: number; ram_mb: number }[]>`
    select project_id, instances, cores, ram_mb from project_usage
     where (instances, cores, ram_mb) <> (0, 0, 0) order by project_id`;
  const recount = await tcp.db.sql<{ project_id: string; instances: number; cores: number; ram_mb: number }[]>`
    select i.project_id, count(*)::int as instances, sum(f.vcpus)::int as cores, sum(f.ram_mb)::int as ram_mb
      from instances i join flavors f on f.id = i.flavor_id group by i.project_id order by i.project_id`;
  return { counters, recount };
}

async function expectCountersExact() {
  const { counters, recount } = await countersAndRecount();
  expect(counters).toEqual(recount);
  return recount;
}

const CREATE = `mutation($i: [CreateInstanceInput!]!) { createInstances(inputs: $i) { __typename
  ... on CreateInstancesSuccess { instances { id } } ... on Error { message } } }`;

async function createMany(p: 'a' | 'b', flavors: string[]): Promise<string[]> {
  const inputs = flavors.map((flavor, i) => ({ name: `${p}-${i}`, flavor, image: 'test-image' }));
  const r = (await projects[p].client.request(CREATE, { i: inputs })).createInstances;
  expect(r.__typename).toBe('CreateInstancesSuccess');
  return r.instances.map((i: { id: string }) => i.id);
}

const settled = (id: string, vmState: string) =>
  waitFor(`${id} ${vmState}`, () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === vmState && r.task_state === null);

const settle = async (name: 'confirmResize' | 'revertResize', id: string) =>
  (await tcp.admin.request(`mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { message } } }`, { id }))[name];

const inUse = async (p: 'a' | 'b') =>
  Object.fromEntries(((await projects[p].client.request(`query { quotas { resource inUse } }`)).quotas as { resource: string; inUse: number }[])
    .filter((q) => ['instances', 'cores', 'ram'].includes(q.resource)).map((q) => [q.resource, q.inUse]));

describe('project usage counters', () => {
  let a: string[];
  let b: string[];

  it('count a bulk create in each of two projects', async () => {
    a = await createMany('a', ['u.small', 'u.small', 'u.small', 'u.small', 'u.small']);
    b = await createMany('b', ['u.small', 'u.medium', 'u.medium']);
    expect(await expectCountersExact()).toHaveLength(2);
    expect(await inUse('a')).toEqual({ instances: 5, cores: 5, ram: 2560 });
    expect(await inUse('b')).toEqual({ instances: 3, cores: 5, ram: 2560 });
    for (const id of [...a, ...b]) await settled(id, 'active');
    // Placement, binding and building updated every row: nothing of it moved the counters.
    await expectCountersExact();
  });

  it('count a deleting instance until the reconciler deletes its row, then not', async () => {
    for (const id of a.slice(3)) expect((await deleteInstance(projects.a.client, id)).__typename).toBe('DeleteInstanceSuccess');
    await expectCountersExact();
    for (const id of a.slice(3)) await waitFor('deleted', () => instanceRow(tcp.db.sql, id), (r) => r === undefined);
    await expectCountersExact();
    expect(await inUse('a')).toEqual({ instances: 3, cores: 3, ram: 1536 });
  });

  it('follow a resize to its new flavor when confirmed, and back to the old one when reverted', async () => {
    const [grow, back] = [a[0]!, b[0]!];
    for (const id of [grow, back]) {
      expect((await updateInstance(tcp.admin, id, { flavor: 'u.medium' })).__typename).toBe('UpdateInstanceSuccess');
      await settled(id, 'resized');
      await expectCountersExact();
    }
    expect(await settle('confirmResize', grow)).toEqual({ __typename: 'ConfirmResizeSuccess' });
    expect(await settle('revertResize', back)).toEqual({ __typename: 'RevertResizeSuccess' });
    await settled(grow, 'active');
    await settled(back, 'active');
    await expectCountersExact();
    expect(await inUse('a')).toEqual({ instances: 3, cores: 4, ram: 2048 });
    expect(await inUse('b')).toEqual({ instances: 3, cores: 5, ram: 2560 });
  });

  it('apply one statement of several rows across projects by its net change: insert, move, delete', async () => {
    const [small] = await tcp.db.sql<{ id: string }[]>`select id from flavors where name = 'u.small'`;
    const [medium] = await tcp.db.sql<{ id: string }[]>`select id from flavors where name = 'u.medium'`;
    // Rows no job names and no task is on: the reconciler leaves them alone.
    const rows = await tcp.db.sql<{ id: string }[]>`
      insert into instances (project_id, user_id, name, flavor_id, image_id, vm_state, task_state)
      select p, u, 'sql-' || n, f, ${imageId}, 'error', null
        from unnest(${[projects.a.projectId, projects.b.projectId, projects.b.projectId]}::uuid[],
                    ${[projects.a.userId, projects.b.userId, projects.b.userId]}::uuid[],
                    ${[small!.id, medium!.id, small!.id]}::uuid[], array[1, 2, 3]) as r(p, u, f, n)
      returning id`;
    await expectCountersExact();
    expect(await inUse('a')).toEqual({ instances: 4, cores: 5, ram: 2560 });
    // Each moves to the other project, as medium: a gives one and takes two, b the other way round.
    // New ids too: the trigger pairs old and new rows by id, and must count unpaired ones.
    const moved = await tcp.db.sql<{ id: string }[]>`
      update instances set id = gen_random_uuid(), flavor_id = ${medium!.id},
             project_id = case when project_id = ${projects.a.projectId}::uuid then ${projects.b.projectId}::uuid else ${projects.a.projectId}::uuid end,
             user_id = case when project_id = ${projects.a.projectId}::uuid then ${projects.b.userId}::uuid else ${projects.a.userId}::uuid end
       where id = any(${rows.map((r) => r.id)}::uuid[])
      returning id`;
    await expectCountersExact();
    expect(await inUse('a')).toEqual({ instances: 5, cores: 8, ram: 4096 });
    await tcp.db.sql`delete from instances where id = any(${moved.map((r) => r.id)}::uuid[])`;
    await expectCountersExact();
    expect(await inUse('a')).toEqual({ instances: 3, cores: 4, ram: 2048 });
    expect(await inUse('b')).toEqual({ instances: 3, cores: 5, ram: 2560 });
  });

  it('change with the rows in their transaction, and are undone with them', async () => {
    const before = await countersAndRecount();
    await expect(tcp.db.sql.begin(async (tx) => {
      await tx`update instances set flavor_id = (select id from flavors where name = 'u.small') where project_id = ${projects.b.projectId}`;
      const [inside] = await tx<{ cores: number }[]>`select cores from project_usage where project_id = ${projects.b.projectId}`;
      expect(inside!.cores).toBe(3);
      throw new Error('undo');
    })).rejects.toThrow('undo');
    expect(await countersAndRecount()).toEqual(before);
  });

  it('refuse a change of a flavor\'s vcpus or ram, which the counters hold', async () => {
    await expect(tcp.db.sql`update flavors set vcpus = 8 where name = 'u.small'`).rejects.toMatchObject({ code: '23514' });
    await tcp.db.sql`update flavors set description = 'still 1 vCPU' where name = 'u.small'`;
  });
});
