import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, updateInstance, waitFor } from './support/fixtures.ts';
import { GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { twoLibvirtHosts, twoLibvirtHostsDown } from './support/two-libvirt-hosts.ts';
import { uploadImage } from './support/images.ts';

const run = promisify(execFile);
const BOOT_MS = 120_000;

const fixture = await twoLibvirtHosts();
if ('unavailable' in fixture) console.warn(`\n*** SKIPPING the two-host libvirt tests: ${fixture.unavailable} ***\n`);

describe.skipIf('unavailable' in fixture)('moves between two real libvirt hosts', () => {
  const uris = 'uris' in fixture ? fixture.uris : [];
  let tcp: TestControlPlane;
  const agents: AgentProcess[] = [];
  let stateDir: string;
  let id = '';
  let token = '';
  const startAgent = (n: 1 | 2, extra: string[] = []) =>
    startAgentProcess(['--driver', 'libvirt', '--uri', uris[n - 1]!, '--name', `mv-h${n}`, '--api', tcp.url,
      '--enrollment-token', token, '--state-dir', path.join(stateDir, `h${n}`), '--heartbeat', '1', '--reserved-memory-mb', '0',
      // Each daemon listens for its peer on its namespace's veth address (see the fixture).
      '--migration-uri', `qemu+tcp://10.252.0.${n}/system`, ...extra]);
  const virsh = async (host: 1 | 2, ...args: string[]) =>
    (await run('virsh', ['-q', '-c', uris[host - 1]!, ...args])).stdout.trim();
  const hostId = async (n: 1 | 2) => (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = ${'mv-h' + n}`)[0]!.id;
  const row = () => instanceRow(tcp.db.sql, id);
  const verify = (host: 1 | 2) => async () => {
    const h = await hostId(host);
    return waitFor(`VERIFY_RESIZE on mv-h${host}`, row, (r) => r?.vm_state === 'resized' && r.host_id === h && r.task_state === null, BOOT_MS)
      .catch((e) => { throw new Error(`${(e as Error).message}\n${agents.map((a) => a.log()).join('\n---\n')}`); });
  };
  const gone = (host: 1 | 2) => waitFor(`domain gone from mv-h${host}`, () => virsh(host, 'list', '--all', '--uuid'), (out) => !out.includes(id), 60_000);

  beforeAll(async () => {
    tcp = await startTestControlPlane();
    const guest = await testGuest();
    await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    await createFlavor(tcp.admin, 'tiny-plus', 1, GUEST_MEMORY_MB + 64, 1);
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'orrery-moves-'));
    token = await enrollmentToken(tcp.admin);
    for (const n of [1, 2] as const) agents.push(startAgent(n));
    await waitFor('both hosts up', async () => (await tcp.db.sql`
      select 1 from hosts where name like 'mv-h%' and last_heartbeat_at > now() - interval '5 seconds' and memory_mb > 0`).length, (n) => n === 2, 60_000);
    // Build on mv-h1, so the moves below go to mv-h2 and back.
    await tcp.admin.request(`mutation { updateHost(ref: "mv-h2", input: {enabled: false}) { __typename } }`);
    const made = await createInstance(tcp.admin, { name: 'mover', flavor: 'tiny', image: 'tiny-guest' });
    id = made.instance.id;
    await waitFor('active on mv-h1', row, (r) => r?.vm_state === 'active', BOOT_MS);
    await tcp.admin.request(`mutation { updateHost(ref: "mv-h2", input: {enabled: true}) { __typename } }`);
  }, 300_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await tcp?.stop();
    await twoLibvirtHostsDown();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('cold-migrates mv-h1 → mv-h2: running there, the source kept shut off until confirmed, then removed', async () => {
    expect(await virsh(1, 'domstate', id)).toBe('running');
    const d = await tcp.admin.request(`mutation($id: ID!) { migrateInstance(id: $id) { __typename ... on Error { message } } }`, { id });
    expect(d.migrateInstance.__typename).toBe('MigrateInstanceSuccess');
    await verify(2)();
    expect(await virsh(2, 'domstate', id)).toBe('running');
    expect(await virsh(1, 'domstate', id)).toBe('shut off');
    const allocs = await tcp.db.sql`select host_id from allocations where instance_id = ${id}`;
    expect(allocs.length).toBe(2);
    const c = await tcp.admin.request(`mutation($id: ID!) { confirmResize(id: $id) { __typename } }`, { id });
    expect(c.confirmResize.__typename).toBe('ConfirmResizeSuccess');
    await gone(1);
    expect(await virsh(2, 'domstate', id)).toBe('running');
  }, 300_000);

  it('resizes to a bigger flavor on the other host, and a revert restores the old host and size', async () => {
    expect((await updateInstance(tcp.admin, id, { flavor: 'tiny-plus' })).__typename).toBe('UpdateInstanceSuccess');
    await verify(1)();
    expect(await virsh(1, 'dumpxml', id)).toContain(`<memory unit='KiB'>${(GUEST_MEMORY_MB + 64) * 1024}</memory>`);
    expect(await virsh(1, 'domstate', id)).toBe('running');
    const r = await tcp.admin.request(`mutation($id: ID!) { revertResize(id: $id) { __typename } }`, { id });
    expect(r.revertResize.__typename).toBe('RevertResizeSuccess');
    const h2 = await hostId(2);
    await waitFor('back on mv-h2', row, (x) => x?.vm_state === 'active' && x.host_id === h2 && x.task_state === null, BOOT_MS);
    expect(await virsh(2, 'domstate', id)).toBe('running');
    expect(await virsh(2, 'dumpxml', id)).toContain(`<memory unit='KiB'>${GUEST_MEMORY_MB * 1024}</memory>`);
    await gone(1);
  }, 300_000);

  it('live-migrates the running guest mv-h2 → mv-h1 and back to a named host, never stopping it', async () => {
    const liveMigrate = async (host?: string) =>
      (await tcp.admin.request(`mutation($id: ID!, $host: String) { liveMigrateInstance(id: $id, host: $host) { __typename ... on Error { message } } }`,
        { id, host })).liveMigrateInstance;
    const arrived = async (n: 1 | 2) => {
      const h = await hostId(n);
      await waitFor(`live-migrated to mv-h${n}`, row, (r) => r?.host_id === h && r.task_state === null && r.vm_state === 'active', BOOT_MS)
        .catch((e) => { throw new Error(`${(e as Error).message}\n${agents.map((a) => a.log()).join('\n---\n')}`); });
      // Booted by nobody: libvirt says the domain runs because it migrated in.
      expect(await virsh(n, 'domstate', '--reason', id)).toBe('running (migrated)');
      expect(await virsh(n === 1 ? 2 : 1, 'list', '--all', '--uuid')).not.toContain(id);
      expect(await tcp.db.sql`select host_id from allocations where instance_id = ${id}`).toEqual([{ host_id: h }]);
      // The source kept no files of the guest.
      await expect(access(path.join(stateDir, `h${n === 1 ? 2 : 1}`, 'instances', id))).rejects.toThrow();
    };
    expect(await virsh(2, 'domstate', id)).toBe('running');
    expect((await liveMigrate()).__typename).toBe('LiveMigrateInstanceSuccess');
    await arrived(1);
    expect((await liveMigrate('mv-h2')).__typename).toBe('LiveMigrateInstanceSuccess');
    await arrived(2);
    const done = await tcp.db.sql`select status from migrations where instance_id = ${id} and kind = 'live-migration'`;
    expect(done).toEqual([{ status: 'completed' }, { status: 'completed' }]);
  }, 300_000);

  it('aborts a live migration still copying at its completion timeout: the guest runs on at its source, the action says why', async () => {
    // The guest is on mv-h2; its agent now gives a live migration 3 s at 1 MiB/s (the disk alone is far more).
    await agents[1]!.stop();
    agents[1] = startAgent(2, ['--live-migration-timeout', '3', '--live-migration-bandwidth', '1']);
    await waitFor('mv-h2 back', async () => (await tcp.db.sql`
      select 1 from hosts where name = 'mv-h2' and last_heartbeat_at > now() - interval '2 seconds'`).length, (n) => n === 1, 60_000);
    const r = await tcp.admin.request(`mutation($id: ID!) { liveMigrateInstance(id: $id, host: "mv-h1") { __typename ... on Error { message } } }`, { id });
    expect(r.liveMigrateInstance.__typename).toBe('LiveMigrateInstanceSuccess');
    const [action] = await waitFor('the live migration ended', () => tcp.db.sql<{ state: string; message: string | null }[]>`
      select state, message from instance_actions where instance_id = ${id} and action = 'live-migrate' order by started_at desc limit 1`,
    (rows) => rows[0]?.state !== 'running' && rows[0]?.state !== 'pending', 120_000);
    expect(action!.state).toBe('failed');
    expect(action!.message).toContain('did not finish within 3 s and was aborted; the guest still runs here');
    const h2 = await hostId(2);
    await waitFor('settled on mv-h2', row, (x) => x?.host_id === h2 && x.task_state === null, 60_000);
    expect(await virsh(2, 'domstate', id)).toBe('running');
    await gone(1);
    expect(await tcp.db.sql`select host_id from allocations where instance_id = ${id}`).toEqual([{ host_id: h2 }]);
    // What mv-h1 prepared for it is gone too.
    await waitFor('mv-h1 dropped the prepared disk', () => access(path.join(stateDir, 'h1', 'instances', id)).then(() => 'there', () => 'gone'),
      (s) => s === 'gone', 60_000);
  }, 300_000);
});
