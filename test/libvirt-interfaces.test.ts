import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from './support/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, instanceRow, waitFor } from './support/fixtures.ts';
import { GUEST_BOOTED, GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { uploadImage } from './support/images.ts';
import { startLibvirtAgent, stopLibvirtAgent, type LibvirtAgent } from './support/libvirt-agent.ts';
import { libvirtUnavailable, virsh } from './support/libvirt.ts';

const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the libvirt interface tests: ${unavailable} ***\n`);

const run = promisify(execFile);
const HOST = `ifaces-${process.pid}`;
/** A plain Linux bridge standing in for the host plumbing (not given to this agent): the provider network's. */
const BRIDGE = `orrif${process.pid % 100000}`;
const BOOT_MS = 120_000;

describe.skipIf(unavailable !== null)('interfaces hot-plugged into a real libvirt guest', () => {
  let tcp: TestControlPlane;
  let host: LibvirtAgent | undefined;
  let agent: AgentProcess;
  let id = '';

  const withLog = (e: unknown) => {
    throw new Error(`${(e as Error).message}\nagent log:\n${agent.log()}`);
  };
  const ifaceMacs = async (...flags: string[]) =>
    [...(await virsh('dumpxml', ...flags, id)).matchAll(/<mac address='([0-9a-f:]+)'\/>/g)].map((m) => m[1]);
  const portStatus = async (port: string) =>
    (await tcp.db.sql<{ status: string }[]>`select status from ports where id = ${port}`)[0]?.status ?? 'gone';
  const actionState = async (action: string) =>
    (await tcp.db.sql<{ state: string }[]>`select state from instance_actions where id = ${action}`)[0]!.state;

  beforeAll(async () => {
    await run('ip', ['link', 'add', 'name', BRIDGE, 'type', 'bridge']);
    await run('ip', ['link', 'set', BRIDGE, 'up']);
    tcp = await startTestControlPlane();
    const guest = await testGuest();
    await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    const net = await tcp.admin.request(`mutation($b: String!) { createNetwork(input: { name: "provider", providerBridge: $b }) {
      __typename ... on Error { message } } }`, { b: BRIDGE });
    expect(net.createNetwork.__typename).toBe('CreateNetworkSuccess');
    const sub = await tcp.admin.request(`mutation { createSubnet(input: { network: "provider", cidr: "10.77.0.0/24" }) { __typename } }`);
    expect(sub.createSubnet.__typename).toBe('CreateSubnetSuccess');
    host = await startLibvirtAgent(tcp, HOST, 'orrery-ifaces-agent-');
    ({ agent } = host);
  }, 300_000);

  afterAll(async () => {
    await stopLibvirtAgent(host, [id]);
    await tcp?.stop();
    await run('ip', ['link', 'del', BRIDGE]).catch(() => {});
  });

  it('boots a guest with no NIC', async () => {
    const made = await createInstance(tcp.admin, { name: 'hotplug', flavor: 'tiny', image: 'tiny-guest', networks: [] });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    id = made.instance.id;
    await waitFor('ACTIVE', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null, BOOT_MS).catch(withLog);
    // Hot-plugs need a guest that is up to take them (ACPI/PCIe hotplug).
    await waitFor('the guest booted', async () =>
      (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 200) { output } }`, { id })).consoleOutput?.output ?? '',
    (o: string) => o.includes(GUEST_BOOTED), BOOT_MS).catch(withLog);
    expect(await ifaceMacs()).toEqual([]);
  }, BOOT_MS * 2);

  it('attaches a NIC on the provider bridge: live and in the definition, the port ACTIVE; detaches it again', async () => {
    const d = await tcp.admin.request(`mutation($id: ID!) { attachInterface(instance: $id, input: { network: "provider" }) {
      __typename ... on AttachInterfaceSuccess { attachment { port { id macAddress } action { id } } } ... on Error { message } } }`, { id });
    expect(d.attachInterface.__typename).toBe('AttachInterfaceSuccess');
    const { port, action } = d.attachInterface.attachment;
    await waitFor('the attach done', () => actionState(action.id), (s) => s !== 'running', 60_000).catch(withLog);
    expect(await actionState(action.id)).toBe('succeeded');
    expect(await portStatus(port.id)).toBe('ACTIVE');
    const iflist = await virsh('domiflist', id);
    expect(iflist).toMatch(new RegExp(`^\\s*tap${port.id.slice(0, 11)}\\s+bridge\\s+${BRIDGE}\\s+virtio\\s+${port.macAddress}\\s*$`, 'm'));
    expect(await ifaceMacs('--inactive')).toEqual([port.macAddress]);
    expect(await virsh('dumpxml', id)).toContain(`<source bridge='${BRIDGE}'/>`);

    const u = await tcp.admin.request(`mutation($id: ID!, $p: ID!) { detachInterface(instance: $id, port: $p) {
      __typename ... on DetachInterfaceSuccess { attachment { action { id } } } ... on Error { message } } }`, { id, p: port.id });
    expect(u.detachInterface.__typename).toBe('DetachInterfaceSuccess');
    await waitFor('the detach done', () => actionState(u.detachInterface.attachment.action.id), (s) => s !== 'running', 60_000).catch(withLog);
    expect(await actionState(u.detachInterface.attachment.action.id)).toBe('succeeded');
    expect(await ifaceMacs()).toEqual([]);
    expect(await ifaceMacs('--inactive')).toEqual([]);
    expect(await portStatus(port.id)).toBe('gone');
    expect((await instanceRow(tcp.db.sql, id))!).toMatchObject({ vm_state: 'active', power_state: 'running' });
  }, 180_000);
});
