import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { instanceRow, waitFor } from './support/fixtures.ts';
import { cloudsYaml, openstack, openstackJson, openstackUnavailable, setPassword } from './support/openstack.ts';

// The real `openstack` CLI (Debian's python3-openstackclient) against the facade, over fake hosts.
const unavailable = await openstackUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the openstack CLI tests: ${unavailable} ***\n`);

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let clouds: string;
const os = (...args: string[]) => openstack(clouds, 'admin', args);
const osJson = <T = Record<string, unknown>>(...args: string[]) => openstackJson<T>(clouds, 'admin', args);
const hostOf = async (id: string) =>
  (await tcp.db.sql<{ name: string }[]>`select h.name from instances i join hosts h on h.id = i.host_id where i.id = ${id}`)[0]?.name;

beforeAll(async () => {
  if (unavailable) return;
  tcp = await startTestControlPlane();
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'cli-a' }, { name: 'cli-b' }]);
  await setPassword(tcp, 'admin', 'admin-password');
  clouds = await cloudsYaml(tcp.url, { admin: { user: 'admin', password: 'admin-password', project: 'admin' } });
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

// Each CLI call costs 1-2 s of Python start-up alone, more on a busy machine.
describe.skipIf(unavailable !== null)('the openstack CLI', { timeout: 240_000 }, () => {
  let serverId: string;

  it('creates flavors, uploads an image, imports a key pair and builds an aggregate', async () => {
    const flavor = await osJson('flavor', 'create', '--vcpus', '1', '--ram', '512', '--disk', '1', 'm1.small');
    expect(flavor).toMatchObject({ name: 'm1.small', vcpus: 1, ram: 512, disk: 1 });
    await os('flavor', 'create', '--vcpus', '2', '--ram', '1024', '--disk', '2', 'm1.medium');
    const flavors = await osJson<{ Name: string }[]>('flavor', 'list');
    expect(flavors.map((f) => f.Name).sort()).toEqual(['m1.medium', 'm1.small']);

    const file = path.join(tmpdir(), `orrery-os-image-${process.pid}.raw`);
    await writeFile(file, Buffer.alloc(1 << 20, 7));
    await os('image', 'create', '--file', file, '--disk-format', 'raw', '--public', 'cirros');
    const images = await osJson<{ Name: string; Status: string }[]>('image', 'list');
    expect(images).toEqual([expect.objectContaining({ Name: 'cirros', Status: 'active' })]);
    const [image] = await tcp.db.sql<{ status: string; size_bytes: string; checksum: string }[]>`select * from images where name = 'cirros'`;
    expect(image).toMatchObject({ status: 'active' });
    expect(Number(image!.size_bytes)).toBe(1 << 20);
    expect(image!.checksum).toMatch(/^[0-9a-f]{64}$/);
    // `image set` is glanceclient's JSON Patch of what changed.
    await os('image', 'set', '--min-ram', '256', '--property', 'os_distro=cirros', 'cirros');
    const [patched] = await tcp.db.sql`select min_ram_mb, properties from images where name = 'cirros'`;
    expect(patched).toMatchObject({ min_ram_mb: 256, properties: { os_distro: 'cirros' } });

    const pem = await os('keypair', 'create', 'k1');
    expect(pem).toContain('PRIVATE KEY');
    const [key] = await tcp.db.sql`select name from key_pairs where name = 'k1'`;
    expect(key).toBeDefined();

    await os('aggregate', 'create', 'fast');
    await os('aggregate', 'add', 'host', 'fast', 'cli-a');
    await os('aggregate', 'set', '--property', 'ssd=true', 'fast');
    const agg = await osJson<{ hosts: string[]; properties: Record<string, string> }>('aggregate', 'show', 'fast');
    expect(agg.hosts).toEqual(['cli-a']);
    expect(agg.properties).toMatchObject({ ssd: 'true' });
  });

  it('creates a server and waits for it, then lists and shows it', async () => {
    const made = await osJson<{ id: string; status: string; name: string }>(
      'server', 'create', '--flavor', 'm1.small', '--image', 'cirros', '--key-name', 'k1', '--wait', 'vm1');
    expect(made).toMatchObject({ name: 'vm1', status: 'ACTIVE' });
    serverId = made.id;
    expect((await instanceRow(tcp.db.sql, serverId))).toMatchObject({ vm_state: 'active', power_state: 'running' });
    const list = await osJson<{ ID: string; Status: string; Flavor: string; Image: string }[]>('server', 'list');
    expect(list).toEqual([expect.objectContaining({ ID: serverId, Status: 'ACTIVE', Flavor: 'm1.small', Image: 'cirros' })]);
    const shown = await osJson('server', 'show', 'vm1');
    expect(shown).toMatchObject({ id: serverId, key_name: 'k1', 'OS-EXT-STS:vm_state': 'active', 'OS-EXT-STS:power_state': 1, flavor: { original_name: 'm1.small' } });
  });

  it('stops and starts it, and reboots it hard', async () => {
    await os('server', 'stop', 'vm1');
    await waitFor('stopped', () => instanceRow(tcp.db.sql, serverId), (r) => r?.vm_state === 'stopped');
    // Nova's answer to stopping a SHUTOFF server: 409, naming the state.
    await expect(os('server', 'stop', 'vm1')).rejects.toThrow(/vm_state stopped.*HTTP 409/s);
    await os('server', 'start', 'vm1');
    await waitFor('active', () => instanceRow(tcp.db.sql, serverId), (r) => r?.vm_state === 'active' && r.task_state === null);
    await os('server', 'reboot', '--hard', '--wait', 'vm1');
    const [reboot] = await tcp.db.sql<{ action: string; state: string }[]>`
      select action, state from instance_actions where instance_id = ${serverId} and action like 'reboot%'`;
    expect(reboot).toMatchObject({ state: 'succeeded' });
  });

  it('resizes and confirms, migrates and confirms', async () => {
    const before = await hostOf(serverId);
    await os('server', 'resize', '--flavor', 'm1.medium', '--wait', 'vm1');
    expect(await osJson('server', 'show', 'vm1', '-c', 'status')).toEqual({ status: 'VERIFY_RESIZE' });
    await os('server', 'resize', 'confirm', 'vm1');
    await waitFor('resized', () => instanceRow(tcp.db.sql, serverId), (r) => r?.vm_state === 'active');
    const [flavor] = await tcp.db.sql<{ name: string }[]>`select f.name from instances i join flavors f on f.id = i.flavor_id where i.id = ${serverId}`;
    expect(flavor!.name).toBe('m1.medium');
    const afterResize = await hostOf(serverId);
    expect(afterResize).not.toBe(before);

    await os('server', 'migrate', '--wait', 'vm1');
    expect(await osJson('server', 'show', 'vm1', '-c', 'status')).toEqual({ status: 'VERIFY_RESIZE' });
    await os('server', 'migration', 'confirm', 'vm1');
    await waitFor('migrated', () => instanceRow(tcp.db.sql, serverId), (r) => r?.vm_state === 'active');
    expect(await hostOf(serverId)).not.toBe(afterResize);
  });

  it('shelves and unshelves it, snapshots it and shows its console log', async () => {
    await os('server', 'shelve', '--wait', 'vm1');
    expect((await instanceRow(tcp.db.sql, serverId))!.vm_state).toBe('shelved_offloaded');
    await os('server', 'unshelve', '--wait', 'vm1');
    expect((await instanceRow(tcp.db.sql, serverId))!.vm_state).toBe('active');

    const snap = await osJson<{ name: string; status: string }>('server', 'image', 'create', '--name', 'snap1', '--wait', 'vm1');
    expect(snap).toMatchObject({ name: 'snap1', status: 'active' });
    const [row] = await tcp.db.sql`select status, visibility from images where name = 'snap1'`;
    expect(row).toMatchObject({ status: 'active', visibility: 'private' });

    await waitFor('console', async () => (await tcp.db.sql`select 1 from instance_consoles where instance_id = ${serverId}`).length, (n) => n > 0);
    expect(await os('console', 'log', 'show', 'vm1')).toContain('[fake] boot vm1');
  });

  it('lists the server events, services, hypervisors and quotas', async () => {
    const events = await osJson<{ Action: string; 'Request ID': string }[]>('server', 'event', 'list', 'vm1');
    const actions = events.map((e) => e.Action);
    for (const a of ['create', 'stop', 'start', 'reboot', 'resize', 'confirmResize', 'migrate', 'shelve', 'unshelve', 'createImage']) {
      expect(actions).toContain(a);
    }
    const ids = await tcp.db.sql<{ request_id: string }[]>`select request_id from instance_actions where instance_id = ${serverId}`;
    expect(events.map((e) => e['Request ID']).sort()).toEqual(ids.map((r) => r.request_id).sort());

    const services = await osJson<{ Binary: string; Host: string; State: string; Status: string }[]>('compute', 'service', 'list');
    expect(services.map((s) => [s.Binary, s.Host, s.State, s.Status]).sort()).toEqual([
      ['nova-compute', 'cli-a', 'up', 'enabled'], ['nova-compute', 'cli-b', 'up', 'enabled'],
    ]);
    const hypervisors = await osJson<{ 'Hypervisor Hostname': string; State: string }[]>('hypervisor', 'list');
    expect(hypervisors.map((h) => h['Hypervisor Hostname']).sort()).toEqual(['cli-a', 'cli-b']);

    const quota = await osJson<Record<string, unknown>>('quota', 'show');
    expect(quota).toMatchObject({ instances: 10, cores: 20 });
  });

  it('deletes the server and waits until it is gone', async () => {
    await os('server', 'delete', '--wait', 'vm1');
    expect(await instanceRow(tcp.db.sql, serverId)).toBeUndefined();
    expect(await osJson('server', 'list')).toEqual([]);
    await os('image', 'delete', 'snap1');
    const [gone] = await tcp.db.sql`select 1 from images where name = 'snap1'`;
    expect(gone).toBeUndefined();
  });
});
