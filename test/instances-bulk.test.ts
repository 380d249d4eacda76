import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let projectId: string;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'b.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'b.big', 4, 4096, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member, projectId } = await tcp.userClient('bulk-p', 'bulk-user', ['member']));
});
afterAll(async () => {
  await tcp?.stop();
});

const CREATE = `mutation($i: [CreateInstanceInput!]!) { createInstances(inputs: $i) { __typename
  ... on CreateInstancesSuccess { instances { id name status } }
  ... on QuotaExceededError { message resource requested inUse limit }
  ... on ValidationError { field message }
  ... on NotFoundError { field message }
  ... on Error { message } } }`;

const create = async (inputs: Record<string, unknown>[]) => (await member.request(CREATE, { i: inputs })).createInstances;

async function setQuota(resource: string, limit: number | null) {
  const d = await tcp.admin.request(`mutation($i: SetQuotaInput!) { setQuota(input: $i) { __typename } }`,
    { i: { project: 'bulk-p', resource, limit } });
  expect(d.setQuota.__typename).toBe('SetQuotaSuccess');
}

/** What a create writes: instance rows, their create actions, their ids in a placement job, group members. */
async function written() {
  const [w] = await tcp.db.sql<{ instances: number; actions: number; jobs: number; members: number }[]>`
    select (select count(*)::int from instances where project_id = ${projectId}) as instances,
           (select count(*)::int from instance_actions where project_id = ${projectId} and action = 'create') as actions,
           (select count(*)::int from graphile_worker._private_jobs j, json_array_elements_text(j.payload->'ids') as e(id)
              where j.task_id = (select id from graphile_worker._private_tasks where identifier = 'place_instances')
                and e.id in (select id::text from instances where project_id = ${projectId})) as jobs,
           (select count(*)::int from server_group_members m join instances i on i.id = m.instance_id
              where i.project_id = ${projectId}) as members`;
  return w!;
}

const inputs = (prefix: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, flavor: 'b.small', image: 'test-image', ...extra }));

describe('createInstances', () => {
  it('writes every instance, its create action and its place in the placement job, in input order', async () => {
    const r = await create(inputs('web', 4));
    expect(r.__typename).toBe('CreateInstancesSuccess');
    expect(r.instances.map((i: { name: string }) => i.name)).toEqual(['web-0', 'web-1', 'web-2', 'web-3']);
    expect(r.instances.every((i: { status: string }) => i.status === 'BUILD')).toBe(true);
    expect(await written()).toEqual({ instances: 4, actions: 4, jobs: 4, members: 0 });
    const rows = await tcp.db.sql<{ id: string; vm_state: string; task_state: string; desired_power_state: string }[]>`
      select id, vm_state, task_state, desired_power_state from instances where project_id = ${projectId} order by name`;
    expect(rows.map((x) => x.id)).toEqual(r.instances.map((i: { id: string }) => i.id));
    expect(rows.every((x) => x.vm_state === 'building' && x.task_state === 'scheduling' && x.desired_power_state === 'running')).toBe(true);
  });

  it('checks the quota for all of them together and writes nothing when they do not fit', async () => {
    await setQuota('instances', 6);
    const r = await create(inputs('over', 3));
    expect(r).toEqual({ __typename: 'QuotaExceededError', message: 'quota exceeded for instances: requested 3, in use 4 of 6',
      resource: 'instances', requested: 3, inUse: 4, limit: 6 });
    expect(await written()).toEqual({ instances: 4, actions: 4, jobs: 4, members: 0 });

    await setQuota('instances', -1);
    await setQuota('cores', 9);
    const cores = await create([...inputs('fits', 1), { name: 'big', flavor: 'b.big', image: 'test-image' }, ...inputs('more', 1)]);
    expect(cores.message).toBe('quota exceeded for cores: requested 6, in use 4 of 9');
    expect(await written()).toMatchObject({ instances: 4 });
    await setQuota('cores', null);
  });

  it('never exceeds the quota under concurrent bulk creates', async () => {
    await setQuota('instances', 10);
    const results = await Promise.all(Array.from({ length: 5 }, (_, c) => create(inputs(`race-${c}`, 3))));
    expect(results.filter((r) => r.__typename === 'CreateInstancesSuccess')).toHaveLength(2);
    expect(results.filter((r) => r.__typename === 'QuotaExceededError')).toHaveLength(3);
    expect(await written()).toEqual({ instances: 10, actions: 10, jobs: 10, members: 0 });
    await setQuota('instances', -1);
  });

  it('names the input that fails validation or names something missing, and writes nothing', async () => {
    const before = await written();
    const bad = await create([...inputs('ok', 2), { name: '', flavor: 'b.small', image: 'test-image' }]);
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'inputs.2.name' });
    const missing = await create([...inputs('ok', 1), { name: 'x', flavor: 'nope', image: 'test-image' }]);
    expect(missing).toMatchObject({ __typename: 'NotFoundError', field: 'inputs.1.flavor' });
    const meta = await create([{ ...inputs('m', 1)[0], metadata: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }]);
    expect(meta).toMatchObject({ __typename: 'ValidationError', field: 'inputs.0.metadata[1].key' });
    expect((await create([])).field).toBe('inputs');
    expect(await written()).toEqual(before);
  });

  it('limits server-group members per group across the batch', async () => {
    const G = `mutation($i: ServerGroupInput!) { createServerGroup(input: $i) { __typename } }`;
    expect((await member.request(G, { i: { name: 'bulk-g', policy: 'soft_anti_affinity' } })).createServerGroup.__typename)
      .toBe('CreateServerGroupSuccess');
    await setQuota('server_group_members', 2);
    const before = await written();
    const over = await create(inputs('g', 3, { serverGroup: 'bulk-g' }));
    expect(over.message).toBe('quota exceeded for server_group_members: requested 3, in use 0 of 2');
    expect(await written()).toEqual(before);
    expect((await create(inputs('g', 2, { serverGroup: 'bulk-g' }))).__typename).toBe('CreateInstancesSuccess');
    expect(await written()).toEqual({ ...before, instances: before.instances + 2, actions: before.actions + 2, jobs: before.jobs + 2, members: 2 });
  });
});
