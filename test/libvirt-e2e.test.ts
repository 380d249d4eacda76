import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtDriver } from '../hostagent/drivers/libvirt/driver.ts';
import type { AgentProcess } from './support/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { uploadImage } from './support/images.ts';
import { createFlavor, createInstance, deleteInstance, instanceRow, updateInstance, waitFor } from './support/fixtures.ts';
import { GUEST_BOOTED, GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { startLibvirtAgent, stopLibvirtAgent, type LibvirtAgent } from './support/libvirt-agent.ts';
import { libvirtUnavailable, virsh } from './support/libvirt.ts';

const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the end-to-end libvirt tests: ${unavailable} ***\n`);

const HOST = `e2e-${process.pid}`;
const BOOT_MS = 120_000;

describe.skipIf(unavailable !== null)('the whole stack on a real libvirtd', () => {
  let tcp: TestControlPlane;
  let host: LibvirtAgent | undefined;
  let agent: AgentProcess;
  let stateDir: string;
  let id = '';

  const row = () => instanceRow(tcp.db.sql, id);
  const settled = (vm: string, ms = 60_000) =>
    waitFor(`vm_state ${vm}`, row, (r) => r?.vm_state === vm && r.task_state === null, ms);
  const domstate = () => virsh('domstate', id);
  const consoleOutput = async () =>
    (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 200) { output } }`, { id })).consoleOutput?.output ?? '';

  beforeAll(async () => {
    tcp = await startTestControlPlane();
    const guest = await testGuest();
    await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    host = await startLibvirtAgent(tcp, HOST, 'orrery-e2e-agent-');
    ({ agent, stateDir } = host);
  }, 300_000);

  afterAll(async () => {
    await stopLibvirtAgent(host, [id]);
    await tcp?.stop();
  });

  it('boots an instance from the uploaded image to ACTIVE, running in libvirt', async () => {
    const made = await createInstance(tcp.admin, { name: 'real-vm', flavor: 'tiny', image: 'tiny-guest' });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    id = made.instance.id;
    const r = await settled('active', BOOT_MS).catch((e) => {
      throw new Error(`${(e as Error).message}\nagent log:\n${agent.log()}`);
    });
    expect(r!.power_state).toBe('running');
    expect(await domstate()).toBe('running');
    const dumpxml = await virsh('dumpxml', id);
    expect(dumpxml).toContain(`<uuid>${id}</uuid>`);
    expect(dumpxml).toMatch(/<memory unit='KiB'>131072<\/memory>/);
    const [alloc] = await tcp.db.sql<{ memory_mb: number; name: string }[]>`
      select a.memory_mb, h.name from allocations a join hosts h on h.id = a.host_id where a.instance_id = ${id}`;
    expect(alloc).toEqual({ memory_mb: GUEST_MEMORY_MB, name: HOST });
  });

  it('shows the guest boot line through consoleOutput', async () => {
    const out = await waitFor('boot line on the console', consoleOutput, (o) => o.includes(GUEST_BOOTED), BOOT_MS);
    expect(out).toContain(GUEST_BOOTED);
  });

  it('stops and starts', async () => {
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    expect((await settled('stopped'))!.power_state).toBe('shutdown');
    expect(await domstate()).toBe('shut off');
    expect((await updateInstance(tcp.admin, id, { powerState: 'running' })).__typename).toBe('UpdateInstanceSuccess');
    expect((await settled('active', BOOT_MS))!.power_state).toBe('running');
    expect(await domstate()).toBe('running');
  });

  it('pauses and unpauses', async () => {
    await updateInstance(tcp.admin, id, { powerState: 'paused' });
    expect((await settled('paused'))!.power_state).toBe('paused');
    expect(await domstate()).toBe('paused');
    await updateInstance(tcp.admin, id, { powerState: 'running' });
    await settled('active');
    expect(await domstate()).toBe('running');
  });

  it('suspends to disk (managed save) and resumes', async () => {
    await updateInstance(tcp.admin, id, { powerState: 'suspended' });
    expect((await settled('suspended'))!.power_state).toBe('suspended');
    expect(await domstate()).toBe('shut off');
    expect(await virsh('dominfo', id)).toMatch(/Managed save:\s+yes/);
    await updateInstance(tcp.admin, id, { powerState: 'running' });
    await settled('active', BOOT_MS);
    expect(await domstate()).toBe('running');
  });

  it('soft-reboots through ACPI: the console shows a second boot', async () => {
    const boots = async () => (await consoleOutput()).split(GUEST_BOOTED).length - 1;
    const before = await boots();
    const d = await tcp.admin.request(
      `mutation($id: ID!) { rebootInstance(id: $id) { __typename ... on RebootInstanceSuccess { action { id } } } }`, { id });
    expect(d.rebootInstance.__typename).toBe('RebootInstanceSuccess');
    await waitFor('reboot succeeded', async () => (await tcp.db.sql<{ state: string }[]>`
      select state from instance_actions where id = ${d.rebootInstance.action.id}`)[0]!.state, (s) => s === 'succeeded', BOOT_MS);
    await waitFor('a second boot on the console', boots, (n) => n > before, BOOT_MS);
    expect((await settled('active'))!.power_state).toBe('running');
    expect(await domstate()).toBe('running');
  });

  it('rebuilds from another image: a fresh disk, the same domain, running', async () => {
    const guest = await testGuest();
    const other = await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest-2');
    expect((await updateInstance(tcp.admin, id, { image: 'tiny-guest-2' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('rebuild done', async () => (await tcp.db.sql<{ state: string }[]>`
      select state from instance_actions where instance_id = ${id} and action = 'rebuild'`)[0]?.state, (st) => st === 'succeeded', BOOT_MS);
    await settled('active', BOOT_MS);
    expect(await domstate()).toBe('running');
    expect(await virsh('dumpxml', id)).toContain(`<orrery:image>${other}</orrery:image>`);
    await waitFor('boot line after the rebuild', consoleOutput, (o) => o.includes(GUEST_BOOTED), BOOT_MS);
  });

  it('snapshots the running guest into an image that boots a second instance', async () => {
    const d = await tcp.admin.request(
      `mutation($id: ID!) { snapshotInstance(id: $id, name: "real-snap") { __typename ... on SnapshotInstanceSuccess { action { id imageId } } ... on Error { message } } }`,
      { id });
    expect(d.snapshotInstance.__typename).toBe('SnapshotInstanceSuccess');
    const { imageId } = d.snapshotInstance.action;
    await waitFor('snapshot image active', async () => (await tcp.db.sql<{ status: string }[]>`
      select status from images where id = ${imageId}`)[0]!.status, (st) => st === 'active', BOOT_MS);
    expect(await domstate()).toBe('running');
    const made = await createInstance(tcp.admin, { name: 'from-snap', flavor: 'tiny', image: 'real-snap' });
    const second = made.instance.id as string;
    await waitFor('second instance active', () => instanceRow(tcp.db.sql, second), (r) => r?.vm_state === 'active', BOOT_MS);
    const out = async () => (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 200) { output } }`, { id: second })).consoleOutput?.output ?? '';
    await waitFor('the snapshot boots', out, (o) => o.includes(GUEST_BOOTED), BOOT_MS);
    await deleteInstance(tcp.admin, second);
    await waitFor('second instance gone', () => instanceRow(tcp.db.sql, second), (r) => r === undefined, 60_000);
  });

  it('shelves (domain and allocation gone) and unshelves (booted again from the shelve snapshot)', async () => {
    const d = await tcp.admin.request(`mutation($id: ID!) { shelveInstance(id: $id) { __typename } }`, { id });
    expect(d.shelveInstance.__typename).toBe('ShelveInstanceSuccess');
    const r = await settled('shelved_offloaded', BOOT_MS);
    expect(r!.host_id).toBeNull();
    await expect(virsh('dominfo', id)).rejects.toThrow();
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    const u = await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id) { __typename } }`, { id });
    expect(u.unshelveInstance.__typename).toBe('UnshelveInstanceSuccess');
    await settled('active', BOOT_MS);
    expect(await domstate()).toBe('running');
    await waitFor('boot line after unshelve', consoleOutput, (o) => o.includes(GUEST_BOOTED), BOOT_MS);
  });

  it('rescues: boots from the rescue image with its own disk second, and unrescues', async () => {
    const r = await tcp.admin.request(
      `mutation($id: ID!) { rescueInstance(id: $id) { __typename ... on RescueInstanceSuccess { action { id } } ... on Error { message } } }`, { id });
    expect(r.rescueInstance.__typename).toBe('RescueInstanceSuccess');
    await settled('rescued', BOOT_MS);
    const disks = (await virsh('dumpxml', id)).split('<disk ').slice(1).map((d) => ({
      file: /<source file='([^']+)'/.exec(d)?.[1] ?? '',
      target: /<target dev='(\w+)'/.exec(d)?.[1],
    }));
    expect(disks.map((d) => `${d.target}:${path.basename(d.file)}`)).toEqual(['vda:disk.rescue', 'vdb:disk']);
    // Only the rescue boot sees two disks.
    await waitFor('the rescue system boots', consoleOutput, (o) => new RegExp(`${GUEST_BOOTED} .*disks=vda vdb`).test(o), BOOT_MS);
    await tcp.admin.request(`mutation($id: ID!) { unrescueInstance(id: $id) { __typename } }`, { id });
    await settled('active', BOOT_MS);
    expect(await domstate()).toBe('running');
    expect(await virsh('dumpxml', id)).not.toContain('disk.rescue');
  });

  it('records a guest destroyed behind its back as STOPPED and leaves it off', async () => {
    await virsh('destroy', id);
    const r = await settled('stopped');
    expect([r!.power_state, r!.desired_power_state]).toEqual(['shutdown', 'stopped']);
    await new Promise((res) => setTimeout(res, 2000));
    expect(await domstate()).toBe('shut off');
  });

  it('reports a stray Orrery domain as an orphan, keeps or removes it per the host setting', async () => {
    const stray = randomUUID();
    const guest = await testGuest();
    const byHand = new LibvirtDriver({ instancesDir: path.join(stateDir, 'by-hand') });
    await tcp.admin.request(`mutation { updateHost(ref: "${HOST}", input: {orphanPolicy: "keep"}) { __typename } }`);
    await byHand.create({
      instanceId: stray, name: 'stray', generation: 1, imageId: 'hand-made', vcpus: 1, memoryMb: GUEST_MEMORY_MB, diskGb: 1,
      imagePath: guest.imagePath, imageFormat: 'qcow2', imageProperties: {}, userData: null, metadata: {}, interfaces: [], configDrive: null,
    });
    const orphan = () => tcp.db.sql<{ action: string }[]>`select action from host_orphans where domain_uuid = ${stray}`;
    await waitFor('orphan reported as kept', orphan, (rows) => rows[0]?.action === 'kept', 30_000);
    expect(await virsh('domstate', stray)).toMatch(/running|paused|shut off/);
    await tcp.admin.request(`mutation { updateHost(ref: "${HOST}", input: {orphanPolicy: "remove"}) { __typename } }`);
    await waitFor('orphan removed', orphan, (rows) => rows[0]?.action === 'removed', 60_000);
    await expect(virsh('dominfo', stray)).rejects.toThrow();
    await byHand.close();
  });

  it('deletes: the domain and its disk go, allocations are released', async () => {
    expect((await deleteInstance(tcp.admin, id)).__typename).toBe('DeleteInstanceSuccess');
    await waitFor('row gone', row, (r) => r === undefined, 60_000);
    await expect(virsh('dominfo', id)).rejects.toThrow();
    expect(existsSync(path.join(stateDir, 'instances', id))).toBe(false);
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    const [h] = await tcp.db.sql<{ used: number }[]>`select used_memory_mb as used from hosts where name = ${HOST}`;
    expect(h!.used).toBe(0);
  });
});
