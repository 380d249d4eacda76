import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtDriver } from '../hostagent/drivers/libvirt/driver.ts';
import type { AgentProcess } from './support/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { uploadImage } from './support/images.ts';
import { createFlavor, createInstance, instanceRow, updateInstance, waitFor } from './support/fixtures.ts';
import { GUEST_BOOTED, GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { startLibvirtAgent, stopLibvirtAgent, type LibvirtAgent } from './support/libvirt-agent.ts';
import { libvirtUnavailable, virsh } from './support/libvirt.ts';

const run = promisify(execFile);
const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the same-host resize libvirt tests: ${unavailable} ***\n`);

const HOST = `resize-here-${process.pid}`;
const BOOT_MS = 120_000;
const GiB = 1024 ** 3;

describe.skipIf(unavailable !== null)('resize to the same host on a real libvirtd', () => {
  let tcp: TestControlPlane;
  let host: LibvirtAgent | undefined;
  let agent: AgentProcess;
  let stateDir: string;
  let hostId = '';
  let id = '';

  const row = () => instanceRow(tcp.db.sql, id);
  const settled = (vm: string, ms = BOOT_MS) =>
    waitFor(`vm_state ${vm}`, row, (r) => r?.vm_state === vm && r.task_state === null, ms).catch((e) => {
      throw new Error(`${(e as Error).message}\nagent log:\n${agent.log()}`);
    });
  /** Boots so far, from the whole serial log (consoleOutput's tail would lose the early ones). */
  const boots = async () =>
    (await readFile(path.join(instanceDir(), 'console.log'), 'utf8').catch(() => '')).split(GUEST_BOOTED).length - 1;
  /** Max memory (KiB) and vCPUs as libvirt itself reports them. */
  const dominfo = async () => {
    const info = await virsh('dominfo', id);
    return { memoryKib: Number(/Max memory:\s+(\d+) KiB/.exec(info)?.[1]), vcpus: Number(/CPU\(s\):\s+(\d+)/.exec(info)?.[1]) };
  };
  const instanceDir = () => path.join(stateDir, 'instances', id);
  const diskSize = async () => {
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path.join(instanceDir(), 'disk')]);
    return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
  };
  const backup = () => path.join(instanceDir(), 'disk.resize-backup');
  const allocation = async () =>
    tcp.db.sql<{ host_id: string; vcpus: number; memory_mb: number; disk_gb: number }[]>`
      select host_id, vcpus, memory_mb, disk_gb from allocations where instance_id = ${id}`;
  const noCurrentAction = () =>
    waitFor('the agent step done', async () =>
      (await tcp.db.sql<{ current_action_id: string | null }[]>`select current_action_id from instances where id = ${id}`)[0],
      (r) => r?.current_action_id === null, BOOT_MS);
  const settle = async (name: 'confirmResize' | 'revertResize') =>
    (await tcp.admin.request(`mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { message } } }`, { id }))[name];

  beforeAll(async () => {
    tcp = await startTestControlPlane({ config: { allowResizeToSameHost: true } });
    const guest = await testGuest();
    await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    await createFlavor(tcp.admin, 'tiny.more', 2, 256, 2);
    await createFlavor(tcp.admin, 'tiny.most', 2, 384, 3);
    host = await startLibvirtAgent(tcp, HOST, 'orrery-resize-agent-');
    ({ agent, stateDir, hostId } = host);
  }, 300_000);

  afterAll(async () => {
    await stopLibvirtAgent(host, [id]);
    await tcp?.stop();
  });

  it('boots the tiny guest', async () => {
    const made = await createInstance(tcp.admin, { name: 'resize-me', flavor: 'tiny', image: 'tiny-guest' });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    id = made.instance.id;
    await settled('active');
    await waitFor('boot line', boots, (n) => n === 1, BOOT_MS);
    expect(await dominfo()).toEqual({ memoryKib: GUEST_MEMORY_MB * 1024, vcpus: 1 });
    expect(await diskSize()).toBe(1 * GiB);
  });

  it('resizes in place to more RAM, vCPUs and disk: VERIFY_RESIZE on the same host, booted again', async () => {
    expect((await updateInstance(tcp.admin, id, { flavor: 'tiny.more' })).__typename).toBe('UpdateInstanceSuccess');
    const r = await settled('resized');
    expect([r!.host_id, r!.power_state]).toEqual([hostId, 'running']);
    expect(await virsh('domstate', id)).toBe('running');
    expect(await dominfo()).toEqual({ memoryKib: 256 * 1024, vcpus: 2 });
    expect(await diskSize()).toBe(2 * GiB);
    expect(existsSync(backup())).toBe(true);
    await waitFor('a second boot on the console', boots, (n) => n === 2, BOOT_MS);
    expect(await allocation()).toEqual([{ host_id: hostId, vcpus: 3, memory_mb: GUEST_MEMORY_MB + 256, disk_gb: 3 }]);
    const [m] = await tcp.db.sql`select source_host_id, dest_host_id, status from migrations where instance_id = ${id}`;
    expect(m).toEqual({ source_host_id: hostId, dest_host_id: hostId, status: 'finished' });
  });

  it('repeating the agent step (as after a crash mid-way) changes nothing', async () => {
    const driver = new LibvirtDriver({ instancesDir: path.join(stateDir, 'instances') });
    const before = await stat(backup());
    await driver.stop(id, 60_000);
    await driver.resizeInPlace(id, { vcpus: 2, memoryMb: 256, diskGb: 2 }, true);
    await driver.close();
    expect(await virsh('domstate', id)).toBe('running');
    expect(await dominfo()).toEqual({ memoryKib: 256 * 1024, vcpus: 2 });
    expect(await diskSize()).toBe(2 * GiB);
    // The backup is the disk from before the first resize, never replaced by the resized one.
    expect((await stat(backup())).mtimeMs).toBe(before.mtimeMs);
    await waitFor('boots again', boots, (n) => n === 3, BOOT_MS);
    await waitFor('reported running', row, (x) => x?.power_state === 'running');
  });

  it('confirm keeps it: the allocation shrinks to the new flavor, the backup goes, the domain stays running', async () => {
    expect(await settle('confirmResize')).toEqual({ __typename: 'ConfirmResizeSuccess' });
    await noCurrentAction();
    expect(existsSync(backup())).toBe(false);
    expect((await settled('active'))!.host_id).toBe(hostId);
    expect(await allocation()).toEqual([{ host_id: hostId, vcpus: 2, memory_mb: 256, disk_gb: 2 }]);
    expect((await tcp.db.sql`select 1 from host_fences where instance_id = ${id}`).length).toBe(0);
    // Give a fence (there must be none) time to act: the domain is the instance and stays.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await virsh('domstate', id)).toBe('running');
    expect(await dominfo()).toEqual({ memoryKib: 256 * 1024, vcpus: 2 });
  });

  it('a second resize and a revert bring back the memory, vCPUs and disk it had', async () => {
    const bootsBefore = await boots();
    expect((await updateInstance(tcp.admin, id, { flavor: 'tiny.most' })).__typename).toBe('UpdateInstanceSuccess');
    await settled('resized');
    expect(await dominfo()).toEqual({ memoryKib: 384 * 1024, vcpus: 2 });
    expect(await diskSize()).toBe(3 * GiB);
    await waitFor('booted with more memory', boots, (n) => n === bootsBefore + 1, BOOT_MS);

    expect(await settle('revertResize')).toEqual({ __typename: 'RevertResizeSuccess' });
    const r = await settled('active');
    expect([r!.host_id, r!.power_state, r!.fault]).toEqual([hostId, 'running', null]);
    expect(await virsh('domstate', id)).toBe('running');
    expect(await dominfo()).toEqual({ memoryKib: 256 * 1024, vcpus: 2 });
    expect(await diskSize()).toBe(2 * GiB);
    expect(existsSync(backup())).toBe(false);
    await waitFor('booted again after the revert', boots, (n) => n === bootsBefore + 2, BOOT_MS);
    expect(await allocation()).toEqual([{ host_id: hostId, vcpus: 2, memory_mb: 256, disk_gb: 2 }]);
    const actions = await tcp.db.sql<{ action: string; state: string }[]>`
      select action, state from instance_actions where instance_id = ${id} order by started_at, id`;
    expect(actions.map((a) => `${a.action}:${a.state}`)).toEqual([
      'create:succeeded', 'resize:succeeded', 'confirmResize:succeeded', 'resize:succeeded', 'revertResize:succeeded',
    ]);
  });
});
