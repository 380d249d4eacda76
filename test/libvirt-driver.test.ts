import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverError, type DomainSpec } from '../hostagent/drivers/driver.ts';
import { LibvirtDriver } from '../hostagent/drivers/libvirt/driver.ts';
import { detectVirtType } from '../hostagent/drivers/libvirt/virt-type.ts';
import { GUEST_BOOTED, GUEST_MEMORY_MB, testGuest, type TestGuest } from './support/guest.ts';
import { libvirtUnavailable, restartLibvirtd, virsh, waitFor } from './support/libvirt.ts';

const run = promisify(execFile);
const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the real libvirt driver tests: ${unavailable} ***\n`);

const BOOT_MS = 90_000;

describe.skipIf(unavailable !== null)('LibvirtDriver against a real libvirtd', () => {
  let dir: string;
  let driver: LibvirtDriver;
  let guest: TestGuest;
  const created: string[] = [];

  const spec = (over: Partial<DomainSpec> = {}): DomainSpec => {
    const instanceId = over.instanceId ?? randomUUID();
    created.push(instanceId);
    return {
      instanceId,
      name: `test <${instanceId.slice(0, 8)}>`,
      generation: 3,
      imageId: 'test-guest',
      vcpus: 1,
      memoryMb: GUEST_MEMORY_MB,
      diskGb: 1,
      imagePath: guest.imagePath,
      imageFormat: guest.imageFormat,
      imageProperties: {},
      userData: null,
      metadata: {},
      interfaces: [],
      configDrive: null,
      ...over,
    };
  };
  const state = (id: string) => virsh('domstate', '--reason', id);
  const boots = async (id: string) => (await driver.consoleOutput(id, 10_000)).split(GUEST_BOOTED).length - 1;
  const waitForBoots = (id: string, n: number) =>
    waitFor(`boot #${n} on the console`, async () => (await boots(id)) >= n, BOOT_MS);
  const listed = async (id: string) => (await driver.list()).find((d) => d.instanceId === id);

  beforeAll(async () => {
    guest = await testGuest();
    dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-libvirt-'));
    driver = new LibvirtDriver({ instancesDir: dir });
  });

  afterAll(async () => {
    for (const id of created) await driver.destroy(id).catch(() => {});
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('one guest through its whole life', () => {
    let id: string;

    it('create defines and boots the domain on a qcow2 overlay of the image', async () => {
      const s = spec();
      id = s.instanceId;
      await driver.create(s);
      expect(await state(id)).toBe('running (booted)');
      await waitForBoots(id, 1);

      const disk = path.join(dir, id, 'disk');
      const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', disk])).stdout);
      expect(info).toMatchObject({ format: 'qcow2', 'backing-filename': guest.imagePath, 'virtual-size': 1024 ** 3 });

      const xml = await virsh('dumpxml', id);
      expect(xml).toContain(`<domain type='${await detectVirtType()}'`);
      expect(xml).toContain(`<uuid>${id}</uuid>`);
      expect(xml).toContain(`<title>test &lt;${id.slice(0, 8)}&gt;</title>`);
      expect(xml).toMatch(/<graphics type='vnc' port='\d+' autoport='yes' listen='127.0.0.1'/);
      expect(await listed(id)).toEqual({ instanceId: id, powerState: 'running', generation: 3, imageId: 'test-guest', managed: true, macs: [] });
    }, BOOT_MS);

    it('create again leaves the running domain alone', async () => {
      const before = await virsh('domid', id);
      await driver.create(spec({ instanceId: id }));
      expect(await virsh('domid', id)).toBe(before);
      expect(await boots(id)).toBe(1);
    });

    it('pause and unpause', async () => {
      await driver.pause(id);
      await driver.pause(id);
      expect(await state(id)).toBe('paused (user)');
      expect((await listed(id))?.powerState).toBe('paused');
      await driver.unpause(id);
      await driver.unpause(id);
      expect(await state(id)).toBe('running (unpaused)');
    });

    it('suspend saves memory to disk and resume restores it running, without a reboot', async () => {
      await driver.pause(id); // suspending a paused guest must still resume it running
      await driver.suspend(id);
      await driver.suspend(id);
      expect(await state(id)).toBe('shut off (saved)');
      expect(await virsh('dominfo', id)).toMatch(/Managed save:\s+yes/);
      expect((await listed(id))?.powerState).toBe('suspended');
      await expect(driver.pause(id)).rejects.toMatchObject({ code: 'invalid_state' });

      await driver.resume(id);
      await driver.resume(id);
      expect(await state(id)).toBe('running (restored)');
      expect(await virsh('dominfo', id)).toMatch(/Managed save:\s+no/);
      expect(await boots(id)).toBe(1);
    }, BOOT_MS);

    it('soft reboot goes through an ACPI shutdown and boots again', async () => {
      await driver.reboot(id, 'soft', 30_000);
      expect(await state(id)).toBe('running (booted)');
      await waitForBoots(id, 2);
      expect(await driver.consoleOutput(id, 10_000)).toContain('ORRERY-GUEST-POWEROFF');
    }, BOOT_MS);

    it('stop shuts the guest down through ACPI, not by force', async () => {
      await driver.stop(id, 30_000);
      expect(await state(id)).toBe('shut off (shutdown)');
      await driver.stop(id, 30_000);
      expect((await listed(id))?.powerState).toBe('shutdown');
    }, BOOT_MS);

    it('start boots it again', async () => {
      await driver.start(id);
      await driver.start(id);
      expect(await state(id)).toBe('running (booted)');
      await waitForBoots(id, 3);
    }, BOOT_MS);

    it('hard reboot powers off and boots', async () => {
      await driver.reboot(id, 'hard', 30_000);
      expect(await state(id)).toBe('running (booted)');
      await waitForBoots(id, 4);
    }, BOOT_MS);

    it('consoleOutput returns the last lines', async () => {
      const last = await driver.consoleOutput(id, 3);
      expect(last.split('\n')).toHaveLength(3);
      expect(last).not.toContain('\r');
    });

    it('destroy removes the domain and its files, and is idempotent', async () => {
      await driver.destroy(id);
      await expect(virsh('dominfo', id)).rejects.toThrow(/failed to get domain/);
      expect(existsSync(path.join(dir, id))).toBe(false);
      expect(await listed(id)).toBeUndefined();
      await driver.destroy(id);
    });
  });

  it('soft reboot and stop fall back to force for a guest that does not answer ACPI in time', async () => {
    const { instanceId: id } = spec();
    await driver.create(spec({ instanceId: id }));
    // Seconds before its init listens to ACPI: the power button goes unheard.
    const before = await virsh('domid', id);
    await driver.reboot(id, 'soft', 300);
    expect(await state(id)).toBe('running (booted)');
    expect(await virsh('domid', id)).not.toBe(before);
    await driver.stop(id, 300);
    expect(await state(id)).toBe('shut off (destroyed)');
    await driver.destroy(id);
  });

  it('a domain killed behind our back is listed as shut down, and events report it', async () => {
    const { instanceId: id } = spec();
    const seen: string[] = [];
    const unsubscribe = driver.onChange((changed) => seen.push(changed));
    try {
      await driver.create(spec({ instanceId: id }));
      await waitFor('the Started event', async () => seen.includes(id), 10_000);
      seen.length = 0;
      await virsh('destroy', id);
      expect(await state(id)).toBe('shut off (destroyed)');
      expect((await listed(id))?.powerState).toBe('shutdown');
      await waitFor('the Stopped event', async () => seen.includes(id), 10_000);
    } finally {
      unsubscribe();
      await driver.destroy(id);
    }
  });

  it('after libvirtd restarts, events reconnect and every domain is reported again', async () => {
    const { instanceId: id } = spec();
    await driver.create(spec({ instanceId: id }));
    const seen: string[] = [];
    const unsubscribe = driver.onChange((changed) => seen.push(changed));
    try {
      await waitFor('the domains reported on connecting', async () => seen.includes(id), 10_000);
      seen.length = 0;
      await restartLibvirtd();
      await waitFor('the domains reported after reconnecting', async () => seen.includes(id), 15_000);
      seen.length = 0;
      await driver.pause(id);
      await waitFor('a live event on the new connection', async () => seen.includes(id), 10_000);
    } finally {
      unsubscribe();
      await driver.destroy(id);
    }
  }, 60_000);

  it('lists domains that are not ours as unmanaged', async () => {
    const id = randomUUID();
    const xmlPath = path.join(dir, `${id}.xml`);
    await writeFile(
      xmlPath,
      `<domain type='qemu'><name>stranger-${id.slice(0, 8)}</name><uuid>${id}</uuid>` +
        `<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`,
    );
    await virsh('define', xmlPath);
    try {
      expect(await listed(id)).toEqual({ instanceId: id, powerState: 'shutdown', generation: 0, imageId: null, managed: false, macs: [] });
    } finally {
      await virsh('undefine', id);
    }
  });

  it('reports refusals as DriverErrors', async () => {
    const missing = randomUUID();
    await expect(driver.start(missing)).rejects.toMatchObject({ code: 'not_found' });
    await expect(driver.stop('not-a-uuid', 1)).rejects.toBeInstanceOf(DriverError);
    await driver.destroy(missing);
  });

  it('hostInfo describes this machine', async () => {
    const info = await driver.hostInfo();
    const memTotalKib = Number(/MemTotal:\s+(\d+)/.exec(await readFile('/proc/meminfo', 'utf8'))![1]);
    expect(info).toMatchObject({ hypervisorType: 'QEMU', architecture: 'x86_64', vcpus: os.cpus().length });
    expect(info.hypervisorVersion).toMatch(/^\d+\.\d+/);
    expect(info.memoryMb).toBe(Math.floor(memTotalKib / 1024));
    expect(info.diskGb).toBeGreaterThan(0);
    expect(info.cpuModel).not.toBe('');
    expect(info.cpuFeatures.length).toBeGreaterThan(0);

    const reserved = new LibvirtDriver({ instancesDir: dir, reserved: { vcpus: 1, memoryMb: 512, diskGb: 1 } });
    expect(await reserved.hostInfo()).toMatchObject({
      vcpus: info.vcpus - 1,
      memoryMb: info.memoryMb - 512,
      diskGb: info.diskGb - 1,
    });
  });
});
