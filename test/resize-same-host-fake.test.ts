import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

/** One host: when a resize may stay on its host, that host is the only one that fits. */
async function soloControlPlane(allowResizeToSameHost: boolean) {
  const tcp = await startTestControlPlane({ config: { allowResizeToSameHost } });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'm1.medium', 2, 1024, 2);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  const hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'solo', driver: { failResize: /^broken/ } }]);
  const [host] = await tcp.db.sql<{ id: string }[]>`select id from hosts where name = 'solo'`;
  return { tcp, hosts, hostId: host!.id, driver: hosts[0]!.driver };
}

type Solo = Awaited<ReturnType<typeof soloControlPlane>>;

const allocations = async (s: Solo, id: string) =>
  s.tcp.db.sql<{ host_id: string; vcpus: number; memory_mb: number; disk_gb: number }[]>`
    select host_id, vcpus, memory_mb, disk_gb from allocations where instance_id = ${id}`;
const hostUsage = async (s: Solo) =>
  (await s.tcp.db.sql<{ used_vcpus: number; used_memory_mb: number; used_disk_gb: number }[]>`
    select used_vcpus, used_memory_mb, used_disk_gb from hosts where id = ${s.hostId}`)[0];
const migrations = async (s: Solo, id: string) =>
  s.tcp.db.sql<{ source_host_id: string; dest_host_id: string; status: string; kind: string; transfer_image_id: string | null }[]>`
    select source_host_id, dest_host_id, status, kind, transfer_image_id from migrations where instance_id = ${id}`;
const actionLog = async (s: Solo, id: string) =>
  (await s.tcp.db.sql<{ action: string; state: string }[]>`
    select action, state from instance_actions where instance_id = ${id} order by started_at, id`).map((a) => `${a.action}:${a.state}`);
const flavorOf = async (s: Solo, id: string) =>
  (await s.tcp.db.sql<{ name: string }[]>`select f.name from instances i join flavors f on f.id = i.flavor_id where i.id = ${id}`)[0]!.name;
const settle = async (s: Solo, name: 'confirmResize' | 'revertResize', id: string) =>
  (await s.tcp.admin.request(`mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { message } } }`, { id }))[name];

async function activeInstance(s: Solo, name: string, powerState = 'running'): Promise<string> {
  const made = await createInstance(s.tcp.admin, { name, flavor: 'm1.small', image: 'test-image', powerState });
  const vm = powerState === 'running' ? 'active' : 'stopped';
  await waitFor('built', () => instanceRow(s.tcp.db.sql, made.instance.id), (r) => r?.vm_state === vm && r.task_state === null);
  return made.instance.id;
}

async function resizedInPlace(s: Solo, id: string): Promise<void> {
  expect((await updateInstance(s.tcp.admin, id, { flavor: 'm1.medium' })).__typename).toBe('UpdateInstanceSuccess');
  await waitFor('VERIFY_RESIZE', () => instanceRow(s.tcp.db.sql, id), (r) => r?.vm_state === 'resized' && r.task_state === null);
}

describe('resize to the same host (allowResizeToSameHost on)', () => {
  let s: Solo;
  beforeAll(async () => {
    s = await soloControlPlane(true);
  });
  afterAll(async () => {
    await s?.hosts.stop();
    await s?.tcp.stop();
  });

  it('resizes in place: VERIFY_RESIZE on the same host, holding old + new flavor there, the old disk kept', async () => {
    const id = await activeInstance(s, 'grow-here');
    await resizedInPlace(s, id);
    const r = (await instanceRow(s.tcp.db.sql, id))!;
    expect([r.host_id, r.power_state]).toEqual([s.hostId, 'running']);
    expect(await flavorOf(s, id)).toBe('m1.medium');
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 3, memory_mb: 1536, disk_gb: 3 }]);
    expect(await hostUsage(s)).toEqual({ used_vcpus: 3, used_memory_mb: 1536, used_disk_gb: 3 });
    expect(await migrations(s, id)).toEqual([
      { source_host_id: s.hostId, dest_host_id: s.hostId, status: 'finished', kind: 'resize', transfer_image_id: null },
    ]);
    const dom = s.driver.domains.get(id)!;
    expect([dom.powerState, dom.size, dom.resizeBackup]).toEqual(['running', { vcpus: 2, memoryMb: 1024, diskGb: 2 }, { diskGb: 1 }]);
    // Nothing went through the image store: no transfer image was made.
    expect((await s.tcp.db.sql`select 1 from images where properties->>'instance_uuid' = ${id}`).length).toBe(0);
    const events = await s.tcp.db.sql<{ event: string; result: string }[]>`
      select e.event, e.result from instance_action_events e join instance_actions a on a.id = e.action_id
       where a.instance_id = ${id} and a.action = 'resize' order by e.id`;
    expect(events.map((e) => `${e.event}:${e.result}`)).toEqual(['schedule:success', 'resize:running', 'resize:success']);

    // Confirm: the allocation shrinks to the new flavor; the domain stays (no fence) and the backup goes.
    expect(await settle(s, 'confirmResize', id)).toEqual({ __typename: 'ConfirmResizeSuccess' });
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 2, memory_mb: 1024, disk_gb: 2 }]);
    expect((await s.tcp.db.sql`select 1 from host_fences where instance_id = ${id}`).length).toBe(0);
    await waitFor('backup dropped', async () => s.driver.domains.get(id)?.resizeBackup, (b) => b === undefined);
    await waitFor('confirm step done', async () =>
      (await s.tcp.db.sql<{ current_action_id: string | null }[]>`select current_action_id from instances where id = ${id}`)[0],
      (x) => x?.current_action_id === null);
    const after = (await instanceRow(s.tcp.db.sql, id))!;
    expect([after.vm_state, after.task_state, after.host_id, after.fault]).toEqual(['active', null, s.hostId, null]);
    expect(s.driver.domains.get(id)?.powerState).toBe('running');
    expect(s.driver.domains.get(id)?.size).toEqual({ vcpus: 2, memoryMb: 1024, diskGb: 2 });
    expect((await migrations(s, id))[0]!.status).toBe('confirmed');
    expect(await actionLog(s, id)).toEqual(['create:succeeded', 'resize:succeeded', 'confirmResize:succeeded']);
    expect(await hostUsage(s)).toEqual({ used_vcpus: 2, used_memory_mb: 1024, used_disk_gb: 2 });
  });

  it('a confirmed resize in place holds what the flavor claims: root + ephemeral + swap rounded up', async () => {
    const made = await s.tcp.admin.request(`mutation { createFlavor(input: { name: "m1.swap", vcpus: 2, ramMb: 1024, diskGb: 2, ephemeralGb: 1, swapMb: 512 }) { __typename } }`);
    expect(made.createFlavor.__typename).toBe('CreateFlavorSuccess');
    const id = await activeInstance(s, 'grow-with-swap');
    expect((await updateInstance(s.tcp.admin, id, { flavor: 'm1.swap' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('VERIFY_RESIZE', () => instanceRow(s.tcp.db.sql, id), (r) => r?.vm_state === 'resized' && r.task_state === null);
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 3, memory_mb: 1536, disk_gb: 5 }]);
    expect(await settle(s, 'confirmResize', id)).toEqual({ __typename: 'ConfirmResizeSuccess' });
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 2, memory_mb: 1024, disk_gb: 4 }]);
    await waitFor('confirm step done', async () =>
      (await s.tcp.db.sql<{ current_action_id: string | null }[]>`select current_action_id from instances where id = ${id}`)[0],
      (x) => x?.current_action_id === null);
    await s.tcp.admin.request(`mutation($id: ID!) { deleteInstance(id: $id) { __typename } }`, { id });
    await waitFor('deleted', () => instanceRow(s.tcp.db.sql, id), (r) => r === undefined);
  });

  it('reverts in place: the old flavor, disk and allocation come back, the guest runs again', async () => {
    const id = await activeInstance(s, 'grow-and-back');
    await resizedInPlace(s, id);
    expect(await settle(s, 'revertResize', id)).toEqual({ __typename: 'RevertResizeSuccess' });
    // The allocation goes back to the old flavor in the same transaction as the request.
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 1, memory_mb: 512, disk_gb: 1 }]);
    const back = await waitFor('reverted', () => instanceRow(s.tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null);
    expect([back!.host_id, back!.power_state, back!.fault]).toEqual([s.hostId, 'running', null]);
    expect(await flavorOf(s, id)).toBe('m1.small');
    const dom = s.driver.domains.get(id)!;
    expect([dom.powerState, dom.size, dom.resizeBackup]).toEqual(['running', { vcpus: 1, memoryMb: 512, diskGb: 1 }, undefined]);
    expect((await migrations(s, id))[0]!.status).toBe('reverted');
    expect(await actionLog(s, id)).toEqual(['create:succeeded', 'resize:succeeded', 'revertResize:succeeded']);
    expect((await s.tcp.db.sql`select migration_id, current_action_id from instances where id = ${id}`)[0]).toEqual({
      migration_id: null, current_action_id: null,
    });
  });

  it('leaves a stopped instance stopped through the resize and the confirm', async () => {
    const id = await activeInstance(s, 'grow-cold', 'stopped');
    await resizedInPlace(s, id);
    expect(s.driver.domains.get(id)?.powerState).toBe('shutdown');
    expect(s.driver.domains.get(id)?.size.memoryMb).toBe(1024);
    expect(await settle(s, 'confirmResize', id)).toEqual({ __typename: 'ConfirmResizeSuccess' });
    await waitFor('backup dropped', async () => s.driver.domains.get(id)?.resizeBackup, (b) => b === undefined);
    const r = (await instanceRow(s.tcp.db.sql, id))!;
    expect([r.vm_state, r.power_state]).toEqual(['stopped', 'shutdown']);
  });

  it('undoes a resize the host failed half-way: old flavor, disk and allocation, the guest running again', async () => {
    const id = await activeInstance(s, 'broken-resize');
    expect((await updateInstance(s.tcp.admin, id, { flavor: 'm1.medium' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('rolled back', () => actionLog(s, id), (log) => log.includes('revertResize:succeeded'));
    const r = (await instanceRow(s.tcp.db.sql, id))!;
    expect([r.vm_state, r.task_state, r.host_id, r.power_state, r.fault?.code]).toEqual(['active', null, s.hostId, 'running', 'MoveFailed']);
    expect(r.fault!.message).toMatch(/fake driver fails to resize broken-resize/);
    expect(await actionLog(s, id)).toEqual(['create:succeeded', 'resize:failed', 'revertResize:succeeded']);
    expect(await flavorOf(s, id)).toBe('m1.small');
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 1, memory_mb: 512, disk_gb: 1 }]);
    const dom = s.driver.domains.get(id)!;
    expect([dom.powerState, dom.size, dom.resizeBackup]).toEqual(['running', { vcpus: 1, memoryMb: 512, diskGb: 1 }, undefined]);
    expect((await migrations(s, id))[0]!.status).toBe('error');
    expect((await s.tcp.db.sql`select migration_id, current_action_id from instances where id = ${id}`)[0]).toEqual({
      migration_id: null, current_action_id: null,
    });
  });

  it('never migrates to the same host: a cold migration still excludes it', async () => {
    const id = await activeInstance(s, 'stay-put');
    const d = await s.tcp.admin.request(`mutation($id: ID!) { migrateInstance(id: $id) { __typename } }`, { id });
    expect(d.migrateInstance.__typename).toBe('MigrateInstanceSuccess');
    await waitFor('migration failed', () => actionLog(s, id), (log) => log.includes('migrate:failed'));
    const r = (await instanceRow(s.tcp.db.sql, id))!;
    expect([r.vm_state, r.host_id, r.fault?.code]).toEqual(['active', s.hostId, 'NoValidHost']);
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 1, memory_mb: 512, disk_gb: 1 }]);
    expect((await migrations(s, id)).length).toBe(0);
  });

  // Last in this block: it stops the host's agent.
  it('keeps a confirm running as the agent step (the disk backup still to drop) while the agent is away', async () => {
    const id = await activeInstance(s, 'confirm-unheard');
    await resizedInPlace(s, id);
    await s.hosts[0]!.agent.stop();
    expect(await settle(s, 'confirmResize', id)).toEqual({ __typename: 'ConfirmResizeSuccess' });
    const [confirm] = await s.tcp.db.sql<{ id: string; state: string }[]>`
      select id, state from instance_actions where instance_id = ${id} and action = 'confirmResize'`;
    expect(confirm!.state).toBe('running');
    expect(await s.tcp.db.sql`select current_action_id from instances where id = ${id}`).toEqual([{ current_action_id: confirm!.id }]);
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 2, memory_mb: 1024, disk_gb: 2 }]);
    expect(s.driver.domains.get(id)?.resizeBackup).toEqual({ diskGb: 1 });
  });
});

describe('resize with allowResizeToSameHost off (the default)', () => {
  let s: Solo;
  beforeAll(async () => {
    s = await soloControlPlane(false);
  });
  afterAll(async () => {
    await s?.hosts.stop();
    await s?.tcp.stop();
  });

  it('excludes the source host, so with no other host the resize finds none and nothing changes', async () => {
    const id = await activeInstance(s, 'nowhere-to-go');
    expect((await updateInstance(s.tcp.admin, id, { flavor: 'm1.medium' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('resize failed', () => actionLog(s, id), (log) => log.includes('resize:failed'));
    const r = (await instanceRow(s.tcp.db.sql, id))!;
    expect([r.vm_state, r.task_state, r.host_id, r.fault?.code]).toEqual(['active', null, s.hostId, 'NoValidHost']);
    expect(await flavorOf(s, id)).toBe('m1.small');
    expect(await allocations(s, id)).toEqual([{ host_id: s.hostId, vcpus: 1, memory_mb: 512, disk_gb: 1 }]);
    expect((await migrations(s, id)).length).toBe(0);
    expect(s.driver.domains.get(id)?.size).toEqual({ vcpus: 1, memoryMb: 512, diskGb: 1 });
  });
});
