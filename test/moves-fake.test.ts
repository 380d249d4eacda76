import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';
import { enqueueReconcile } from '../store/jobs.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'm1.medium', 2, 1024, 2);
  await createFlavor(tcp.admin, 'm1.diskless', 1, 512, 0);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'move-a' }, { name: 'move-b' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);
const hostId = async (name: string) => (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = ${name}`)[0]!.id;
const driverOf = (name: string) => hosts.find((h) => h.name === name)!.driver;
const allocations = async (id: string) =>
  (await tcp.db.sql<{ name: string; memory_mb: number }[]>`
    select h.name, a.memory_mb from allocations a join hosts h on h.id = a.host_id where a.instance_id = ${id} order by h.name`)
    .map((a) => `${a.name}:${a.memory_mb}`);
const status = async (id: string) =>
  (await tcp.admin.request(`query($id: ID!) { instance(id: $id) { status flavor { name } } }`, { id })).instance;

/** An active instance on move-a (move-b is kept out of placement while it builds). */
async function onA(name: string): Promise<string> {
  await tcp.db.sql`update hosts set enabled = false where name = 'move-b'`;
  const made = await createInstance(tcp.admin, { name, flavor: 'm1.small', image: 'test-image' });
  const a = await hostId('move-a');
  await waitFor('active on a', () => row(made.instance.id), (r) => r?.vm_state === 'active' && r.host_id === a);
  await tcp.db.sql`update hosts set enabled = true where name = 'move-b'`;
  return made.instance.id;
}

const mutate = async (name: string, id: string) =>
  (await tcp.admin.request(`mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { message } } }`, { id }))[name];

describe('cold migration and resize on the fake driver', () => {
  it('migrates to another host, holds both allocations until confirmed, then frees the source', async () => {
    const id = await onA('wanderer');
    expect((await mutate('migrateInstance', id)).__typename).toBe('MigrateInstanceSuccess');
    const b = await hostId('move-b');
    await waitFor('VERIFY_RESIZE on b', () => row(id), (r) => r?.vm_state === 'resized' && r.host_id === b && r.task_state === null);
    expect((await status(id)).status).toBe('VERIFY_RESIZE');
    expect(await allocations(id)).toEqual(['move-a:512', 'move-b:512']);
    expect(driverOf('move-b').domains.get(id)?.powerState).toBe('running');
    expect(driverOf('move-a').domains.get(id)?.powerState).toBe('shutdown');

    expect((await mutate('confirmResize', id)).__typename).toBe('ConfirmResizeSuccess');
    expect((await status(id)).status).toBe('ACTIVE');
    expect(await allocations(id)).toEqual(['move-b:512']);
    await waitFor('source domain removed', async () => driverOf('move-a').domains.has(id), (has) => !has);
    const [m] = await tcp.db.sql<{ status: string; transfer_image_id: string | null }[]>`
      select status, transfer_image_id from migrations where instance_id = ${id}`;
    expect(m).toEqual({ status: 'confirmed', transfer_image_id: null });
    expect((await tcp.db.sql`select 1 from images where properties->>'image_type' = 'migration' and properties->>'instance_uuid' = ${id}`).length).toBe(0);
  });

  it('resizes to a bigger flavor, and a revert brings it back to its host and flavor', async () => {
    const id = await onA('grower');
    expect((await updateInstance(tcp.admin, id, { flavor: 'm1.medium' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('VERIFY_RESIZE', () => row(id), (r) => r?.vm_state === 'resized' && r.task_state === null);
    expect(await status(id)).toEqual({ status: 'VERIFY_RESIZE', flavor: { name: 'm1.medium' } });
    expect(await allocations(id)).toEqual(['move-a:512', 'move-b:1024']);

    expect((await mutate('revertResize', id)).__typename).toBe('RevertResizeSuccess');
    const a = await hostId('move-a');
    const back = await waitFor('back on a', () => row(id), (r) => r?.vm_state === 'active' && r.task_state === null);
    expect([back!.host_id, back!.power_state]).toEqual([a, 'running']);
    expect(await status(id)).toEqual({ status: 'ACTIVE', flavor: { name: 'm1.small' } });
    expect(await allocations(id)).toEqual(['move-a:512']);
    expect(driverOf('move-a').domains.get(id)?.powerState).toBe('running');
    await waitFor('destination domain removed', async () => driverOf('move-b').domains.has(id), (has) => !has);
    const actions = await tcp.db.sql<{ action: string; state: string }[]>`
      select action, state from instance_actions where instance_id = ${id} order by started_at`;
    expect(actions.map((x) => `${x.action}:${x.state}`)).toEqual(['create:succeeded', 'resize:succeeded', 'revertResize:succeeded']);
  });

  it('ends a move whose disk upload failed: the destination claim and transfer image go, the guest runs on its source again', async () => {
    const id = await onA('unsent');
    const source = driverOf('move-a');
    const snapshot = source.snapshot;
    source.snapshot = async () => {
      throw new Error('disk read error');
    };
    try {
      expect((await mutate('migrateInstance', id)).__typename).toBe('MigrateInstanceSuccess');
      const a = await hostId('move-a');
      const r = await waitFor('running on its source again', () => row(id), (x) =>
        x?.fault?.code === 'OperationFailed' && x.task_state === null && x.vm_state === 'active' && x.host_id === a
        && x.observed_generation === x.generation && x.power_state === 'running');
      expect(r!.fault!.message).toBe('disk read error');
      expect(await allocations(id)).toEqual(['move-a:512']);
      expect(await tcp.db.sql`select status from migrations where instance_id = ${id}`).toEqual([{ status: 'error' }]);
      expect(await tcp.db.sql`select migration_id from instances where id = ${id}`).toEqual([{ migration_id: null }]);
      expect((await tcp.db.sql`select 1 from images where properties->>'instance_uuid' = ${id}`).length).toBe(0);
      expect(source.domains.get(id)?.powerState).toBe('running');
      expect(driverOf('move-b').domains.has(id)).toBe(false);
    } finally {
      source.snapshot = snapshot;
    }
  });

  it('ends a revert whose source never starts the guest again at its deadline, in ERROR, instead of reverting forever', async () => {
    const id = await onA('unanswered');
    expect((await mutate('migrateInstance', id)).__typename).toBe('MigrateInstanceSuccess');
    await waitFor('VERIFY_RESIZE', () => row(id), (r) => r?.vm_state === 'resized' && r.task_state === null);
    // The source's start hangs until released (as an agent stuck on its hypervisor): it never reports.
    const source = driverOf('move-a');
    const start = source.start;
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    source.start = async (i) => held.then(() => start.call(source, i));
    try {
      expect((await mutate('revertResize', id)).__typename).toBe('RevertResizeSuccess');
      await waitFor('reverting', () => row(id), (r) => r?.task_state === 'resize_reverting');
      // Its deadline passes (set to now rather than waited for), and the reconciler looks again.
      await tcp.db.sql`update instances set task_deadline_at = now() where id = ${id}`;
      await enqueueReconcile(tcp.db.sql, 'instance', id);
      const r = await waitFor('revert failed', () => row(id), (x) => x?.task_state === null);
      expect([r!.vm_state, r!.fault!.code]).toEqual(['error', 'RevertFailed']);
      expect(r!.fault!.message).toMatch(/^the source host move-a did not start the instance again within \d+ s$/);
      expect(await tcp.db.sql`select status from migrations where instance_id = ${id}`).toEqual([{ status: 'error' }]);
      expect(await tcp.db.sql`select state from instance_actions where instance_id = ${id} and action = 'revertResize'`).toEqual([{ state: 'failed' }]);
    } finally {
      release();
      source.start = start;
    }
  });

  it('never moves an instance onto the host it leaves, even with the Retry filter switched off', async () => {
    const id = await onA('stayer');
    const current = (await tcp.admin.request('{ schedulerConfig { filters } }')).schedulerConfig.filters as string[];
    const apply = (filters: string[]) => tcp.admin.request(
      `mutation($i: SchedulerConfigInput!) { applySchedulerConfig(input: $i) { __typename } }`, { i: { filters } });
    expect((await apply(current.filter((f) => f !== 'Retry'))).applySchedulerConfig.__typename).toBe('ApplySchedulerConfigSuccess');
    await tcp.db.sql`update hosts set enabled = false where name = 'move-b'`;
    try {
      expect((await mutate('migrateInstance', id)).__typename).toBe('MigrateInstanceSuccess');
      const failed = await waitFor('migration refused', () => row(id), (r) => r?.fault?.code === 'NoValidHost');
      expect(failed!.fault!.message).toMatch(/1 rejected by IgnoredHosts: the instance is moving away from it/);
      expect(failed).toMatchObject({ vm_state: 'active', host_id: await hostId('move-a') });
      expect(await allocations(id)).toEqual(['move-a:512']);
      expect(await tcp.db.sql`select 1 from migrations where instance_id = ${id}`).toHaveLength(0);
    } finally {
      await tcp.db.sql`update hosts set enabled = true where name = 'move-b'`;
      await apply(current);
    }
  });

  it('refuses to shrink the root disk, naming the field, and to migrate a paused instance', async () => {
    const id = await onA('shrinker');
    const shrink = await tcp.admin.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: {flavor: "m1.diskless"}) { __typename ... on ValidationError { field message } } }`, { id });
    expect(shrink.updateInstance).toMatchObject({ __typename: 'ValidationError', field: 'input.flavor' });
    await updateInstance(tcp.admin, id, { powerState: 'paused' });
    await waitFor('paused', () => row(id), (r) => r?.vm_state === 'paused' && r.task_state === null);
    const m = await mutate('migrateInstance', id);
    expect(m.__typename).toBe('ConflictError');
    expect(m.message).toMatch(/cannot migrate instance shrinker in vm_state paused \(allowed from active, stopped\)/);
    expect((await tcp.db.sql`select 1 from migrations where instance_id = ${id}`).length).toBe(0);
  });

  it('refuses a resize while another operation waits its turn (it would meet VERIFY_RESIZE and block the confirm)', async () => {
    const id = await onA('queued-behind');
    // A migration queued and not started yet: inserted without waking the reconciler, so it stays queued.
    await tcp.db.sql`insert into instance_actions (instance_id, project_id, action, request_id, state)
                     values (${id}, ${tcp.adminProjectId}, 'migrate', 'queued-migrate', 'pending')`;
    const resize = await updateInstance(tcp.admin, id, { flavor: 'm1.medium' });
    expect(resize.__typename).toBe('ConflictError');
    expect(resize.message).toBe('instance queued-behind already has an operation waiting');
    const actions = await tcp.db.sql<{ action: string }[]>`select action from instance_actions where instance_id = ${id} order by started_at`;
    expect(actions.map((a) => a.action)).toEqual(['create', 'migrate']);
    await tcp.db.sql`delete from instance_actions where request_id = 'queued-migrate'`;
  });
});

describe('quotas on updates', () => {
  it('refuses a resize past the cores quota and more metadata items than allowed, writing nothing', async () => {
    const id = await onA('quota-bound');
    const set = async (resource: string, limit: number) =>
      tcp.admin.request(`mutation($i: SetQuotaInput!) { setQuota(input: $i) { __typename } }`, { i: { project: 'admin', resource, limit } });
    const [{ cores }] = (await tcp.db.sql<{ cores: number }[]>`
      select coalesce(sum(f.vcpus), 0)::int as cores from instances i join flavors f on f.id = i.flavor_id
       where i.project_id = ${tcp.adminProjectId}`) as unknown as [{ cores: number }];
    await set('cores', cores);
    await set('metadata_items', 1);
    const before = await tcp.db.sql`select count(*)::int as n from instance_actions where instance_id = ${id}`;
    const resize = await tcp.admin.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: {flavor: "m1.medium"}) { __typename ... on QuotaExceededError { resource requested inUse limit } } }`, { id });
    expect(resize.updateInstance).toEqual({ __typename: 'QuotaExceededError', resource: 'cores', requested: 1, inUse: cores, limit: cores });
    const meta = await updateInstance(tcp.admin, id, { metadata: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] });
    expect(meta.__typename).toBe('QuotaExceededError');
    const after = await tcp.db.sql`select count(*)::int as n from instance_actions where instance_id = ${id}`;
    expect(after[0]!.n).toBe(before[0]!.n);
    expect((await row(id))!.generation).toBe(1);
    await set('cores', -1);
    await set('metadata_items', -1);
  });
});
