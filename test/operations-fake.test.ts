import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import type { AgentApi } from '../hostagent/api.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, deleteInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let member: OrreryClient;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-a');
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-b');
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'ops-1' }]);
  member = (await tcp.userClient('ops', 'olga', ['member'])).client;
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);
const driver = () => hosts[0]!.driver;
const settled = (id: string, vm: string) => waitFor(`vm_state ${vm}`, () => row(id), (r) => r?.vm_state === vm && r.task_state === null);

async function active(client: OrreryClient, name: string, image = 'image-a'): Promise<string> {
  const made = await createInstance(client, { name, flavor: 'm1.small', image });
  expect(made.__typename).toBe('CreateInstanceSuccess');
  await settled(made.instance.id, 'active');
  return made.instance.id;
}

async function reboot(client: OrreryClient, id: string, hard = false) {
  const d = await client.request(
    `mutation($id: ID!, $hard: Boolean) { rebootInstance(id: $id, hard: $hard) { __typename
       ... on RebootInstanceSuccess { action { id action state } } ... on ConflictError { message currentState } ... on Error { message } } }`,
    { id, hard },
  );
  return d.rebootInstance;
}

const actionLog = async (id: string) =>
  (await tcp.db.sql<{ action: string; state: string }[]>`
    select action, state from instance_actions where instance_id = ${id} order by started_at, id`).map((a) => `${a.action}:${a.state}`);

const waitAction = (actionId: string, state: string) =>
  waitFor(`action ${state}`, async () => (await tcp.db.sql<{ state: string }[]>`select state from instance_actions where id = ${actionId}`)[0]?.state, (s) => s === state);

describe('operations on the fake driver', () => {
  it('soft-reboots an active instance as a queued operation the agent carries out once', async () => {
    const id = await active(tcp.admin, 'rebooter');
    const r = await reboot(tcp.admin, id);
    expect(r.__typename).toBe('RebootInstanceSuccess');
    expect(r.action.state).toBe('pending');
    await waitAction(r.action.id, 'succeeded');
    const after = await settled(id, 'active');
    expect(after!.power_state).toBe('running');
    expect(driver().domains.get(id)!.console.filter((l) => l === '[fake] reboot')).toHaveLength(1);
    expect(await actionLog(id)).toEqual(['create:succeeded', 'reboot:succeeded']);
    const events = await tcp.db.sql<{ event: string; result: string }[]>`
      select event, result from instance_action_events where action_id = ${r.action.id} order by id`;
    expect(events.map((e) => `${e.event}:${e.result}`)).toEqual(['reboot:running', 'reboot:success']);
  });

  it('reports a carried-out operation again when its first report was lost, instead of leaving it to its deadline', async () => {
    const id = await active(tcp.admin, 'unheard');
    // The report saying the reboot is done is lost once (as with an API replica killed meanwhile).
    const api = (hosts[0]!.agent as unknown as { api: AgentApi }).api;
    const send = api.reportInstances;
    let lost = 0;
    api.reportInstances = async (reports) => {
      if (lost === 0 && reports.some((r) => r.completedOperation)) {
        lost++;
        throw new Error('connection lost');
      }
      return send.call(api, reports);
    };
    try {
      const r = await reboot(tcp.admin, id);
      await waitAction(r.action.id, 'succeeded');
      expect(lost).toBe(1);
      expect(driver().domains.get(id)!.console.filter((l) => l === '[fake] reboot')).toHaveLength(1);
    } finally {
      api.reportInstances = send;
    }
  });

  it('refuses a soft reboot of a stopped instance, naming the state, and hard-reboots it to ACTIVE', async () => {
    const id = await active(tcp.admin, 'sleeper');
    await updateInstance(tcp.admin, id, { powerState: 'stopped' });
    await settled(id, 'stopped');
    const soft = await reboot(tcp.admin, id);
    expect(soft.__typename).toBe('ConflictError');
    expect(soft.currentState).toBe('vm_state=stopped, task_state=none');
    expect(soft.message).toMatch(/cannot reboot soft instance sleeper in vm_state stopped \(allowed from active\)/);
    const hard = await reboot(tcp.admin, id, true);
    expect(hard.__typename).toBe('RebootInstanceSuccess');
    await waitAction(hard.action.id, 'succeeded');
    const r = await settled(id, 'active');
    expect([r!.power_state, r!.desired_power_state]).toEqual(['running', 'running']);
    expect(driver().domains.get(id)!.powerState).toBe('running');
  });

  it('rebuilds on another image when the spec image changes, keeping the host and allocation', async () => {
    const id = await active(tcp.admin, 'rebuilt');
    const before = await row(id);
    const u = await updateInstance(tcp.admin, id, { image: 'image-b' });
    expect(u.__typename).toBe('UpdateInstanceSuccess');
    const [rebuild] = await tcp.db.sql<{ id: string }[]>`select id from instance_actions where instance_id = ${id} and action = 'rebuild'`;
    await waitAction(rebuild!.id, 'succeeded');
    const r = await settled(id, 'active');
    const [img] = await tcp.db.sql<{ name: string }[]>`select im.name from instances i join images im on im.id = i.image_id where i.id = ${id}`;
    expect(img!.name).toBe('image-b');
    expect(r!.host_id).toBe(before!.host_id);
    const [b] = await tcp.db.sql<{ id: string }[]>`select id from images where name = 'image-b'`;
    expect(driver().domains.get(id)!.imageId).toBe(b!.id);
    expect(await actionLog(id)).toEqual(['create:succeeded', 'rebuild:succeeded']);
  });

  it('refuses a rebuild from a state Nova refuses it from', async () => {
    const id = await active(tcp.admin, 'paused-one');
    await updateInstance(tcp.admin, id, { powerState: 'paused' });
    await settled(id, 'paused');
    const u = await updateInstance(tcp.admin, id, { image: 'image-b' });
    expect(u.__typename).toBe('ConflictError');
    expect(u.message).toMatch(/cannot rebuild instance paused-one in vm_state paused/);
  });

  it("locks: the owner's own lock stops changes until lifted; an admin's lock binds the owner", async () => {
    const id = await active(member, 'locked-one');
    const lock = await member.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: {locked: true, lockedReason: "audit"}) { __typename } }`, { id });
    expect(lock.updateInstance.__typename).toBe('UpdateInstanceSuccess');
    const stop = await updateInstance(member, id, { powerState: 'stopped' });
    expect(stop.__typename).toBe('ConflictError');
    expect(stop.message).toBe('cannot change instance locked-one: it is locked (audit)');
    expect((await deleteInstance(member, id)).__typename).toBe('ConflictError');
    expect((await row(id))!.desired_power_state).toBe('running');
    // An admin may act on a locked instance, and take the lock over.
    const adminLock = await tcp.admin.request(`mutation($id: ID!) { updateInstance(id: $id, input: {locked: true, lockedReason: "legal hold"}) { __typename } }`, { id });
    expect(adminLock.updateInstance.__typename).toBe('UpdateInstanceSuccess');
    const unlock = await member.request(`mutation($id: ID!) { updateInstance(id: $id, input: {locked: false}) { __typename ... on Error { message } } }`, { id });
    expect(unlock.updateInstance).toEqual({ __typename: 'ForbiddenError', message: 'instance locked-one was locked by an admin; only an admin can unlock it' });
    const [l] = await tcp.db.sql<{ locked: boolean; locked_by: string }[]>`select locked, locked_by from instances where id = ${id}`;
    expect(l).toEqual({ locked: true, locked_by: 'admin' });
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await settled(id, 'stopped');
  });

  it('carries out an operation on an instance whose domain vanished (power state unknown): it ends, instead of waiting forever', async () => {
    const id = await active(tcp.admin, 'vanished');
    // Gone behind the agent's back, as with a host that lost its hypervisor's state.
    driver().domains.delete(id);
    await waitFor('nostate reported', () => row(id), (r) => r?.power_state === 'nostate', 20_000);
    const r = await reboot(tcp.admin, id);
    expect(r.__typename).toBe('RebootInstanceSuccess');
    const [a] = await waitFor('the reboot ended', () => tcp.db.sql<{ state: string; message: string | null }[]>`
      select state, message from instance_actions where id = ${r.action.id}`, (rows) => rows[0]?.state === 'failed' || rows[0]?.state === 'succeeded');
    expect(a!.state).toBe('failed');
    expect(a!.message).toBe(`domain ${id} does not exist`);
    expect((await row(id))!.task_state).toBeNull();
  });

  it('abandons a queued operation when the instance is deleted', async () => {
    const id = await active(tcp.admin, 'short');
    await tcp.db.sql`update hosts set forced_down = true where name = 'ops-1'`;
    const r = await reboot(tcp.admin, id, true);
    expect((await deleteInstance(tcp.admin, id)).__typename).toBe('DeleteInstanceSuccess');
    await waitFor('row gone', () => row(id), (x) => x === undefined);
    await tcp.db.sql`update hosts set forced_down = false where name = 'ops-1'`;
    const [a] = await tcp.db.sql<{ state: string; message: string }[]>`select state, message from instance_actions where id = ${r.action.id}`;
    expect(a!.state).toBe('failed');
  });
});

describe('snapshot and shelve on the fake driver', () => {
  const op = async (mutation: string, id: string, extra = '') => {
    const d = await tcp.admin.request(
      `mutation($id: ID!) { ${mutation}(id: $id${extra}) { __typename ... on Error { message } ... on ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Success { action { id imageId state } } } }`,
      { id },
    );
    return d[mutation];
  };
  const image = async (imageId: string) =>
    (await tcp.db.sql<{ name: string; status: string; checksum: string | null; owner_project_id: string }[]>`
      select name, status, checksum, owner_project_id from images where id = ${imageId}`)[0];

  it('snapshots a running instance into a new private image uploaded by its host', async () => {
    const id = await active(tcp.admin, 'snapper');
    const r = await op('snapshotInstance', id, ', name: "snapper-snap"');
    expect(r.__typename).toBe('SnapshotInstanceSuccess');
    await waitAction(r.action.id, 'succeeded');
    const img = await image(r.action.imageId);
    expect(img).toMatchObject({ name: 'snapper-snap', status: 'active', owner_project_id: tcp.adminProjectId });
    expect(img!.checksum).toMatch(/^[0-9a-f]{64}$/);
    const after = await settled(id, 'active');
    expect(after!.power_state).toBe('running');
  });

  it('shelves: snapshot, host released, domain gone; unshelve boots it elsewhere from the snapshot and drops it', async () => {
    const id = await active(tcp.admin, 'shelver');
    await waitFor('console pushed', () => tcp.db.sql`select 1 from instance_consoles where instance_id = ${id}`, (rows) => rows.length === 1);
    const r = await op('shelveInstance', id);
    expect(r.__typename).toBe('ShelveInstanceSuccess');
    const shelved = await waitFor('offloaded', () => row(id), (x) => x?.vm_state === 'shelved_offloaded' && x.task_state === null);
    expect(shelved!.host_id).toBeNull();
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    expect(driver().domains.has(id)).toBe(false);
    // The console was the removed domain's.
    expect((await tcp.db.sql`select 1 from instance_consoles where instance_id = ${id}`).length).toBe(0);
    const img = await image(r.action.imageId);
    expect(img).toMatchObject({ name: 'shelver-shelved', status: 'active' });
    const [shelveAction] = await tcp.db.sql<{ state: string }[]>`select state from instance_actions where id = ${r.action.id}`;
    expect(shelveAction!.state).toBe('succeeded');

    const u = await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id) { __typename ... on Error { message } } }`, { id });
    expect(u.unshelveInstance.__typename).toBe('UnshelveInstanceSuccess');
    const back = await settled(id, 'active');
    expect(back!.host_id).not.toBeNull();
    expect(await image(r.action.imageId)).toBeUndefined();
    const [i] = await tcp.db.sql<{ shelved_image_id: string | null; name: string }[]>`
      select i.shelved_image_id, im.name from instances i join images im on im.id = i.image_id where i.id = ${id}`;
    expect(i).toEqual({ shelved_image_id: null, name: 'image-a' });
    expect(driver().domains.get(id)!.powerState).toBe('running');
  });

  it('refuses to unshelve an instance that is not shelved', async () => {
    const id = await active(tcp.admin, 'not-shelved');
    const u = await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id) { __typename ... on ConflictError { message } } }`, { id });
    expect(u.unshelveInstance.message).toMatch(/cannot unshelve instance not-shelved in vm_state active \(allowed from shelved_offloaded\)/);
  });
});

describe('rescue on the fake driver', () => {
  it('rescues into RESCUE and unrescues back to ACTIVE; power changes are refused meanwhile', async () => {
    const id = await active(tcp.admin, 'rescuee');
    const r = await tcp.admin.request(
      `mutation($id: ID!) { rescueInstance(id: $id, image: "image-b") { __typename ... on RescueInstanceSuccess { action { id } } ... on Error { message } } }`, { id });
    expect(r.rescueInstance.__typename).toBe('RescueInstanceSuccess');
    await waitAction(r.rescueInstance.action.id, 'succeeded');
    await settled(id, 'rescued');
    expect((await tcp.admin.request(`query($id: ID!) { instance(id: $id) { status } }`, { id })).instance.status).toBe('RESCUE');
    expect(driver().domains.get(id)!.rescued).toBe(true);
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('ConflictError');
    const u = await tcp.admin.request(
      `mutation($id: ID!) { unrescueInstance(id: $id) { __typename ... on UnrescueInstanceSuccess { action { id } } } }`, { id });
    await waitAction(u.unrescueInstance.action.id, 'succeeded');
    const back = await settled(id, 'active');
    expect(back!.power_state).toBe('running');
    expect(driver().domains.get(id)!.rescued).toBe(false);
  });
});
