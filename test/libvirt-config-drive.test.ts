import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, instanceRow, updateInstance, waitFor } from './support/fixtures.ts';
import { GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { GuestShell } from './support/guest-shell.ts';
import { uploadImage } from './support/images.ts';
import { startLibvirtAgent, stopLibvirtAgent, type LibvirtAgent } from './support/libvirt-agent.ts';
import { libvirtUnavailable, virsh } from './support/libvirt.ts';

const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the libvirt config drive tests: ${unavailable} ***\n`);

const HOST = `cdrive-${process.pid}`;
const BOOT_MS = 120_000;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkpX5iJ0Ay1L4+kp0y5C4u3VwA3fPq6lOq0TyI2fR1d ops@laptop';
const USER_DATA = '#!/bin/sh\necho "hello from user data"\n';

describe.skipIf(unavailable !== null)("a real guest reads its config drive (Nova's config-2 CD-ROM)", () => {
  let tcp: TestControlPlane;
  let host: LibvirtAgent | undefined;
  let id = '';
  let shell: GuestShell;

  const withLog = (e: unknown) => {
    throw new Error(`${(e as Error).message}\nagent log:\n${host?.agent.log()}`);
  };
  const consoleOf = async () =>
    (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 400) { output } }`, { id })).consoleOutput?.output ?? '';

  beforeAll(async () => {
    tcp = await startTestControlPlane();
    const guest = await testGuest();
    const image = await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    // The line shell for the test, and the CD-ROM on virtio-scsi: the guest's cloud kernel has no AHCI driver.
    await tcp.admin.request(`mutation($id: String!) { updateImage(ref: $id, input: {properties: [
      {key: "hw_qemu_guest_agent", value: "yes"}, {key: "hw_cdrom_bus", value: "scsi"}]}) { __typename } }`, { id: image });
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    await tcp.admin.request(`mutation($i: KeyPairInput!) { createKeyPair(input: $i) { __typename } }`, { i: { name: 'ops', publicKey: KEY } });
    host = await startLibvirtAgent(tcp, HOST, 'orrery-cdrive-agent-');
  }, 300_000);

  afterAll(async () => {
    shell?.close();
    await stopLibvirtAgent(host, [id]);
    await tcp?.stop();
  });

  it('boots with the drive attached read-only', async () => {
    const made = await createInstance(tcp.admin, {
      name: 'Drive Reader', flavor: 'tiny', image: 'tiny-guest', networks: [], configDrive: true, keyName: 'ops', userData: USER_DATA,
      metadata: [{ key: 'role', value: 'db' }],
    });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    id = made.instance.id;
    await waitFor('ACTIVE', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null, BOOT_MS).catch(withLog);
    const disks = await virsh('domblklist', '--details', id);
    expect(disks).toMatch(/^\s*file\s+cdrom\s+sda\s+\S+\/disk\.config\s*$/m);
    shell = await GuestShell.open(path.join(host!.stateDir, 'instances', id, 'guest-agent.sock'), BOOT_MS);
  }, BOOT_MS * 2);

  it('mounts the CD-ROM labelled config-2 and prints its uuid, hostname, key, metadata, network data and user data', async () => {
    const mount = await shell.run('mkdir -p /mnt/cd && mount -t iso9660 -o ro "$(findfs LABEL=config-2)" /mnt/cd && echo mounted');
    expect(mount, 'mount').toEqual({ output: 'mounted\n', rc: 0 });
    // Printed on the serial console, read back through the API as an operator would.
    const files = ['openstack/latest/meta_data.json', 'openstack/latest/network_data.json', 'openstack/latest/user_data'];
    for (const f of files) {
      const r = await shell.run(`{ echo "CONFIG-DRIVE ${f}"; cat /mnt/cd/${f}; echo; echo "CONFIG-DRIVE END"; } >/dev/console`);
      expect(r.rc, f).toBe(0);
    }
    const printed = await waitFor('the files on the console', consoleOf, (o) => (o.match(/CONFIG-DRIVE END/g) ?? []).length >= 3, 30_000);
    const section = (f: string) => printed.split(`CONFIG-DRIVE ${f}\n`)[1]!.split('\nCONFIG-DRIVE END')[0]!.replace(/\r/g, '');
    const meta = JSON.parse(section(files[0]!));
    expect(meta).toMatchObject({
      uuid: id, name: 'Drive Reader', hostname: 'drive-reader', project_id: tcp.adminProjectId,
      public_keys: { ops: KEY }, keys: [{ name: 'ops', type: 'ssh', data: KEY }], meta: { role: 'db' },
    });
    expect(JSON.parse(section(files[1]!))).toEqual({}); // no NICs: Nova writes an empty document
    expect(section(files[2]!)).toBe(USER_DATA);
    const ls = await shell.run('ls /mnt/cd/openstack /mnt/cd/ec2');
    expect(ls.output).toContain('2018-08-27');
    expect(ls.output).toContain('latest');
  }, 120_000);

  it('carries a metadata change made while the guest was off at its next boot', async () => {
    const settled = (vm: string) =>
      waitFor(vm, () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === vm && r.task_state === null && r.observed_generation === r.generation, BOOT_MS);
    await updateInstance(tcp.admin, id, { powerState: 'stopped' });
    await settled('stopped').catch(withLog);
    shell.close();
    await updateInstance(tcp.admin, id, { metadata: [{ key: 'role', value: 'replica' }] });
    await updateInstance(tcp.admin, id, { powerState: 'running' });
    await settled('active').catch(withLog);
    shell = await GuestShell.open(path.join(host!.stateDir, 'instances', id, 'guest-agent.sock'), BOOT_MS);
    const r = await shell.run('mkdir -p /mnt/cd && mount -t iso9660 -o ro "$(findfs LABEL=config-2)" /mnt/cd && cat /mnt/cd/openstack/latest/meta_data.json');
    expect(r.rc, r.output).toBe(0);
    expect(JSON.parse(r.output)).toMatchObject({ uuid: id, meta: { role: 'replica' } });
  }, BOOT_MS * 3);
});
