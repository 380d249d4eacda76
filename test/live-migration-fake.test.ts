import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverError } from '../hostagent/drivers/driver.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'lm-a' }, { name: 'lm-b' }, { name: 'lm-c' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);
const hostId = async (name: string) => (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = ${name}`)[0]!.id;
const driverOf = (name: string) => hosts.find((h) => h.name === name)!.driver;
const allocations = async (id: string) =>
  (await tcp.db.sql<{ name: string }[]>`
    select h.name from allocations a join hosts h on h.id = a.host_id where a.instance_id = ${id} order by h.name`).map((a) => a.name);
const lastAction = async (id: string) =>
  (await tcp.db.sql<{ action: string; state: string; message: string | null; user_id: string | null; events: string[] }[]>`
    select a.action, a.state, a.message, a.user_id,
           array(select e.event || ':' || e.result from instance_action_events e where e.action_id = a.id order by e.id) as events
      from instance_actions a where a.instance_id = ${id} order by a.started_at desc, a.id desc limit 1`)[0]!;
const settled = (id: string, host: string) => async () => {
  const h = await hostId(host);
  return waitFor(`settled on ${host}`, () => row(id), (r) => r?.host_id === h && r.task_state === null);
};

/** An instance built on `host` (the others are kept out of placement meanwhile). */
async function activeOn(host: string, name: string): Promise<string> {
  await tcp.db.sql`update hosts set enabled = (name = ${host}) where name like 'lm-%'`;
  const made = await createInstance(tcp.admin, { name, flavor: 'm1.small', image: 'test-image' });
  const h = await hostId(host);
  await waitFor(`active on ${host}`, () => row(made.instance.id), (r) => r?.vm_state === 'active' && r.host_id === h);
  await tcp.db.sql`update hosts set enabled = true where name like 'lm-%'`;
  return made.instance.id;
}

const liveMigrate = async (id: string, host?: string, client = tcp.admin) =>
  (await client.request(
    `mutation($id: ID!, $host: String) { liveMigrateInstance(id: $id, host: $host) {
       __typename ... on LiveMigrateInstanceSuccess { action { id action state } } ... on Error { message } ... on ValidationError { field } } }`,
    { id, host },
  )).liveMigrateInstance;

describe('live migration on the fake driver', () => {
  it('refuses to hand over a guest whose domain is gone, instead of binding it to a destination that never had it', async () => {
    const id = await activeOn('lm-a', 'ghost');
    // Gone behind the agent's back, as with a host that lost its hypervisor's state.
    driverOf('lm-a').domains.delete(id);
    await waitFor('nostate reported', () => row(id), (x) => x?.power_state === 'nostate', 20_000);
    expect((await liveMigrate(id)).__typename).toBe('LiveMigrateInstanceSuccess');
    const a = await waitFor('the live migration ended', () => lastAction(id), (x) => x.action === 'live-migrate' && x.state !== 'pending');
    expect(a).toMatchObject({
      state: 'failed', message: 'cannot live-migrate instance ghost: its host lm-a shows no running guest (power state nostate)',
    });
    expect((await row(id))!.host_id).toBe(await hostId('lm-a'));
    expect(await allocations(id)).toEqual(['lm-a']);
    expect(await tcp.db.sql`select 1 from migrations where instance_id = ${id}`).toEqual([]);
  });

  it('moves a running instance to another host without stopping it; only the destination holds it after', async () => {
    const id = await activeOn('lm-a', 'traveller');
    const r = await liveMigrate(id);
    expect(r.__typename).toBe('LiveMigrateInstanceSuccess');
    expect(r.action).toMatchObject({ action: 'live-migrate', state: 'pending' });
    const done = await waitFor('moved', () => row(id), (x) => x?.host_id !== null && x?.task_state === null
      && x?.vm_state === 'active' && driverOf('lm-a').domains.get(id) === undefined);
    const dest = hosts.find((h) => h.driver.domains.has(id))!;
    expect(dest.name).not.toBe('lm-a');
    expect(done!.host_id).toBe(await hostId(dest.name));
    // Never stopped: the domain carried its console over and is running there.
    const moved = dest.driver.domains.get(id)!;
    expect(moved.powerState).toBe('running');
    expect(moved.console).toContain('[fake] migrated in');
    expect(moved.console.filter((l) => l === '[fake] shutdown')).toEqual([]);
    expect(await allocations(id)).toEqual([dest.name]);
    const [m] = await tcp.db.sql`select kind, status, source_host_id, dest_host_id from migrations where instance_id = ${id}`;
    expect(m).toEqual({ kind: 'live-migration', status: 'completed', source_host_id: await hostId('lm-a'), dest_host_id: done!.host_id });
    expect(await lastAction(id)).toMatchObject({
      action: 'live-migrate', state: 'succeeded',
      events: ['schedule:success', 'prepare:running', 'prepare:success', 'migrate:running', 'migrate:success'],
    });
    const reported = await waitFor('the destination reports the guest', () => row(id), (x) => x?.power_state === 'running');
    expect(reported!.vm_state).toBe('active');
  });

  it('goes to the host an admin names, and a paused instance arrives paused', async () => {
    const id = await activeOn('lm-a', 'directed');
    expect((await updateInstance(tcp.admin, id, { powerState: 'paused' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('paused', () => row(id), (r) => r?.vm_state === 'paused' && r.task_state === null);
    expect((await liveMigrate(id, 'lm-c')).__typename).toBe('LiveMigrateInstanceSuccess');
    const done = await settled(id, 'lm-c')();
    expect(done!.vm_state).toBe('paused');
    expect(driverOf('lm-c').domains.get(id)?.powerState).toBe('paused');
    expect(driverOf('lm-a').domains.has(id)).toBe(false);
    expect(await allocations(id)).toEqual(['lm-c']);
  });

  it('refuses what Nova refuses: a stopped instance, its own host, an unknown host, a non-admin', async () => {
    const id = await activeOn('lm-b', 'refused');
    const own = await liveMigrate(id, 'lm-b');
    expect(own).toMatchObject({ __typename: 'ValidationError', field: 'host' });
    expect((await liveMigrate(id, 'no-such-host')).__typename).toBe('NotFoundError');
    const member = await tcp.userClient('lm-project', 'lm-member', ['member']);
    await expect(liveMigrate(id, undefined, member.client)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('stopped', () => row(id), (r) => r?.vm_state === 'stopped' && r.task_state === null);
    const stopped = await liveMigrate(id);
    expect(stopped.__typename).toBe('ConflictError');
    expect(stopped.message).toMatch(/cannot live migrate instance refused in vm_state stopped \(allowed from active, paused\)/);
    // Nothing was queued or claimed by any refusal.
    expect((await tcp.db.sql`select 1 from instance_actions where instance_id = ${id} and action = 'live-migrate'`).length).toBe(0);
    expect(await allocations(id)).toEqual(['lm-b']);
    expect((await tcp.db.sql`select 1 from migrations where instance_id = ${id}`).length).toBe(0);
  });

  it('fails with NoValidHost, staying put, when the named host cannot receive live migrations', async () => {
    const id = await activeOn('lm-a', 'nowhere');
    await tcp.db.sql`update hosts set migration_uri = null where name = 'lm-c'`;
    try {
      expect((await liveMigrate(id, 'lm-c')).__typename).toBe('LiveMigrateInstanceSuccess');
      await waitFor('failed', () => lastAction(id), (a) => a.action === 'live-migrate' && a.state === 'failed');
      expect((await lastAction(id)).message).toMatch(/No valid host was found.*LiveMigrationTarget/s);
      const r = await row(id);
      expect([r!.host_id, r!.vm_state, r!.task_state, r!.fault?.code]).toEqual([await hostId('lm-a'), 'active', null, 'NoValidHost']);
      expect(await allocations(id)).toEqual(['lm-a']);
      expect(driverOf('lm-a').domains.get(id)?.powerState).toBe('running');
    } finally {
      await tcp.db.sql`update hosts set migration_uri = ${driverOf('lm-c').migrationUri} where name = 'lm-c'`;
    }
  });

  it('gives the destination claim back and drops its prepared disk when the destination cannot prepare', async () => {
    const id = await activeOn('lm-a', 'unprepared');
    const dest = driverOf('lm-b');
    const prepare = dest.prepareIncoming;
    const destroyed: string[] = [];
    const destroy = dest.destroy;
    // It gets as far as some files, as a real preparation that runs out of room does.
    dest.prepareIncoming = async (i: string) => {
      await prepare.call(dest, i);
      throw new DriverError('no room for the disk', 'prepare_failed');
    };
    dest.destroy = async (i: string) => {
      destroyed.push(i);
      return destroy.call(dest, i);
    };
    try {
      expect((await liveMigrate(id, 'lm-b')).__typename).toBe('LiveMigrateInstanceSuccess');
      await waitFor('failed', () => lastAction(id), (a) => a.action === 'live-migrate' && a.state === 'failed');
      expect((await lastAction(id)).message).toBe('destination lm-b could not prepare: no room for the disk');
      const r = await settled(id, 'lm-a')();
      expect([r!.vm_state, r!.fault?.code]).toEqual(['active', 'MigrationFailed']);
      expect(await allocations(id)).toEqual(['lm-a']);
      expect((await tcp.db.sql`select status from migrations where instance_id = ${id}`)).toEqual([{ status: 'error' }]);
      await waitFor('prepared files dropped', async () => destroyed, (d) => d.includes(id));
      expect(driverOf('lm-a').domains.get(id)?.powerState).toBe('running');
    } finally {
      dest.prepareIncoming = prepare;
      dest.destroy = destroy;
    }
  });

  it('keeps the guest on its source when the hand-over fails there', async () => {
    const id = await activeOn('lm-a', 'stuck');
    const source = driverOf('lm-a');
    const migrate = source.liveMigrate;
    source.liveMigrate = async () => {
      throw new DriverError('live migration to fake://x failed', 'migration_failed', 'connection reset');
    };
    try {
      expect((await liveMigrate(id, 'lm-c')).__typename).toBe('LiveMigrateInstanceSuccess');
      await waitFor('failed', () => lastAction(id), (a) => a.action === 'live-migrate' && a.state === 'failed');
      const a = await lastAction(id);
      expect(a.message).toBe('live migration to fake://x failed: connection reset');
      expect(a.events).toEqual(['schedule:success', 'prepare:running', 'prepare:success', 'migrate:running', 'migrate:error']);
      const r = await settled(id, 'lm-a')();
      expect([r!.vm_state, r!.fault?.code]).toEqual(['active', 'MigrationFailed']);
      expect(await tcp.db.sql`select migration_id from instances where id = ${id}`).toEqual([{ migration_id: null }]);
      expect(await allocations(id)).toEqual(['lm-a']);
      expect(source.domains.get(id)?.powerState).toBe('running');
      expect(driverOf('lm-c').domains.has(id)).toBe(false);
    } finally {
      source.liveMigrate = migrate;
    }
  });
});

describe('named destinations for cold migration, evacuation and unshelve', () => {
  it('cold-migrates to the named host', async () => {
    const id = await activeOn('lm-a', 'cold-directed');
    const d = await tcp.admin.request(`mutation($id: ID!) { migrateInstance(id: $id, host: "lm-c") { __typename } }`, { id });
    expect(d.migrateInstance.__typename).toBe('MigrateInstanceSuccess');
    const c = await hostId('lm-c');
    await waitFor('VERIFY_RESIZE on lm-c', () => row(id), (r) => r?.vm_state === 'resized' && r.host_id === c && r.task_state === null);
    expect(await allocations(id)).toEqual(['lm-a', 'lm-c']);
    expect((await tcp.admin.request(`mutation($id: ID!) { confirmResize(id: $id) { __typename } }`, { id })).confirmResize.__typename)
      .toBe('ConfirmResizeSuccess');
    expect(await allocations(id)).toEqual(['lm-c']);
  });

  it('evacuates to the named host when the source is down', async () => {
    const id = await activeOn('lm-b', 'evacuee');
    await tcp.admin.request(`mutation { updateHost(ref: "lm-b", input: {forcedDown: true}) { __typename } }`);
    try {
      const d = await tcp.admin.request(`mutation($id: ID!) { evacuateInstance(id: $id, host: "lm-c") { __typename ... on Error { message } } }`, { id });
      expect(d.evacuateInstance.__typename).toBe('EvacuateInstanceSuccess');
      const c = await hostId('lm-c');
      await waitFor('active on lm-c', () => row(id), (x) => x?.vm_state === 'active' && x.host_id === c && x.task_state === null);
      const [{ requested_host_id }] = await tcp.db.sql`select requested_host_id from instances where id = ${id}`;
      expect(requested_host_id).toBeNull();
      expect(await allocations(id)).toEqual(['lm-c']);
      expect(driverOf('lm-c').domains.get(id)?.powerState).toBe('running');
    } finally {
      await tcp.admin.request(`mutation { updateHost(ref: "lm-b", input: {forcedDown: false}) { __typename } }`);
    }
  });

  it('unshelves onto the named host (admins only)', async () => {
    const id = await activeOn('lm-a', 'shelf');
    expect((await tcp.admin.request(`mutation($id: ID!) { shelveInstance(id: $id) { __typename } }`, { id })).shelveInstance.__typename)
      .toBe('ShelveInstanceSuccess');
    await waitFor('offloaded', () => row(id), (r) => r?.vm_state === 'shelved_offloaded' && r.task_state === null);
    const member = await tcp.userClient(
      (await tcp.db.sql<{ name: string }[]>`select name from projects where id = ${tcp.adminProjectId}`)[0]!.name, 'shelf-member', ['member']);
    const refused = await member.client.request(
      `mutation($id: ID!) { unshelveInstance(id: $id, host: "lm-b") { __typename ... on Error { message } } }`, { id });
    expect(refused.unshelveInstance).toMatchObject({ __typename: 'ForbiddenError' });
    expect((await row(id))!.task_state).toBeNull();
    const d = await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id, host: "lm-b") { __typename } }`, { id });
    expect(d.unshelveInstance.__typename).toBe('UnshelveInstanceSuccess');
    const b = await hostId('lm-b');
    await waitFor('active on lm-b', () => row(id), (r) => r?.vm_state === 'active' && r.host_id === b && r.task_state === null);
    expect(await allocations(id)).toEqual(['lm-b']);
  });
});
