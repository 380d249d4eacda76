import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tapName, type HostNetwork, type HostPort, type HostRule } from '../core/host-network.ts';
import { rootLog } from '../core/log.ts';
import type { AssignedInstance, Assignments } from '../hostagent/api.ts';
import { MetadataService } from '../hostagent/metadata/service.ts';
import { LinuxPlumbing } from '../hostagent/network/linux.ts';

/**
 * The host plumbing on real kernel devices, without libvirt: two "hosts" are network namespaces
 * joined by a veth underlay, and each "guest" is a namespace whose eth0 is the other end of a veth
 * named as the port's tap (libvirt would create a tap; the plumbing treats both alike). Guests
 * run busybox's udhcpc and ping, so what is asserted is what a guest would see.
 */
const run = promisify(execFile);
const sh = async (...argv: string[]) => (await run(argv[0]!, argv.slice(1))).stdout;
const inNs = (ns: string, ...argv: string[]) => sh('ip', 'netns', 'exec', ns, ...argv);
const pings = (from: string, to: string, extra: string[] = []) =>
  inNs(from, 'busybox', 'ping', '-c', '1', '-W', '1', ...extra, to).then(() => true, () => false);

const UNDERLAY = ['10.253.0.1', '10.253.0.2'];
const SERVICE_MAC = 'fa:16:3e:00:00:01';
const anyEgress: HostRule = { direction: 'egress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteCidrs: null };
const icmpIn: HostRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portMin: null, portMax: null, remoteCidrs: null };
const sshIn: HostRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidrs: null };
const membersIn = (cidrs: string[]): HostRule => ({ ...anyEgress, direction: 'ingress', remoteCidrs: cidrs });

function port(id: string, mac: string, ip: string, rules: HostRule[]): HostPort {
  return { id, instanceId: `i-${id}`, deviceIndex: 0, mac, tap: tapName(id), fixedIps: [{ subnetId: 's1', ip }], portSecurity: true, rules };
}

function network(vni: number, peers: string[], ports: HostPort[], floatingIps: HostNetwork['floatingIps'] = []): HostNetwork {
  return {
    id: `net-${vni}`, name: `n${vni}`, segment: { kind: 'vxlan', vni }, mtu: 1400, peers,
    subnets: [{ id: 's1', cidr: '10.50.0.0/24', ipVersion: 4, gatewayIp: '10.50.0.1', dhcpServerIp: '10.50.0.2', dnsServers: ['10.50.0.53'], hostRoutes: [] }],
    service: { mac: SERVICE_MAC, addresses: [{ subnetId: 's1', ip: '10.50.0.1' }, { subnetId: 's1', ip: '10.50.0.2' }] },
    ports, floatingIps,
  };
}

/** An agent's view holding the instances of these networks' ports (what the metadata service reads). */
function assignments(networks: HostNetwork[]): Assignments {
  const instances = networks.flatMap((n) => n.ports).map((p): AssignedInstance => ({
    id: p.instanceId, name: `vm ${p.instanceId}`, generation: 1, observedGeneration: 1, deleted: false, powerState: 'running',
    vcpus: 1, memoryMb: 128, diskGb: 1, image: { id: 'img', diskFormat: 'qcow2', checksum: null, properties: [] },
    userData: `user data of ${p.instanceId}`, metadata: [], projectId: 'p-1', availabilityZone: null, keyPair: null, configDrive: false,
    operation: null, completedOperationId: null, requestId: null,
  }));
  return { hostId: 'h', hostName: 'h', epoch: 0, enabled: true, orphanPolicy: 'remove', fenced: [], held: [], incoming: [], revision: '1', instances, networks };
}

describe('host network plumbing on two namespace hosts', () => {
  let dir: string;
  let plumbing: LinuxPlumbing[];
  let metadata: MetadataService[];
  const guests: string[] = [];
  const A = () => port('aaaaaaaa-0001', 'fa:16:3e:0a:00:01', '10.50.0.10', [anyEgress, membersIn(['10.50.0.10/32', '10.50.0.11/32'])]);
  let bRules: HostRule[] = [anyEgress, membersIn(['10.50.0.10/32', '10.50.0.11/32'])];
  const B = () => port('bbbbbbbb-0002', 'fa:16:3e:0b:00:02', '10.50.0.11', bRules);
  // Another project's network with the same CIDR; its guest even holds B's address.
  const C = () => port('cccccccc-0003', 'fa:16:3e:0c:00:03', '10.50.0.11', [anyEgress, membersIn(['10.50.0.0/24'])]);
  let floating: HostNetwork['floatingIps'] = [];
  const view1 = () => ({ networks: [network(4001, [UNDERLAY[1]!], [A()], floating), network(4002, [], [C()])] });
  const view2 = () => ({ networks: [network(4001, [UNDERLAY[0]!], [B()])] });
  const converge = async () => {
    const [r1, r2] = [await plumbing[0]!.converge(view1()), await plumbing[1]!.converge(view2())];
    return [...r1.ready, ...r2.ready].sort();
  };

  async function guest(name: string, host: string, p: HostPort): Promise<string> {
    const ns = `ohn-g${name}`;
    await sh('ip', 'netns', 'add', ns);
    guests.push(ns);
    await sh('ip', '-n', host, 'link', 'add', p.tap, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'address', p.mac, 'mtu', '1400', 'up');
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** What udhcpc was given, as the test guest's init prints it. */
  async function dhcp(ns: string): Promise<string> {
    const script = path.join(dir, 'udhcpc.sh');
    const out = await inNs(ns, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-O', 'mtu', '-s', script);
    return out.split('\n').find((l) => l.startsWith('bound'))!;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-host-network-'));
    await writeFile(path.join(dir, 'udhcpc.sh'),
      '#!/bin/sh\n[ "$1" = bound ] || exit 0\necho "bound ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu"\nip addr add $ip/$mask dev $interface\nip route add default via $router\n');
    await chmod(path.join(dir, 'udhcpc.sh'), 0o755);
    for (const n of [1, 2]) await sh('ip', 'netns', 'add', `ohn-h${n}`);
    await sh('ip', 'link', 'add', 'ohn-u1', 'netns', 'ohn-h1', 'type', 'veth', 'peer', 'name', 'ohn-u2', 'netns', 'ohn-h2');
    for (const n of [1, 2]) {
      await sh('ip', '-n', `ohn-h${n}`, 'addr', 'add', `${UNDERLAY[n - 1]}/24`, 'dev', `ohn-u${n}`);
      await sh('ip', '-n', `ohn-h${n}`, 'link', 'set', `ohn-u${n}`, 'up');
    }
    plumbing = [1, 2].map((n) => new LinuxPlumbing({
      netns: `ohn-h${n}`, tunnelAddress: UNDERLAY[n - 1]!, namespacePrefix: `ohn-s${n}-`, stateDir: path.join(dir, `h${n}`), log: rootLog(),
      metadataSocket: path.join(dir, `h${n}-metadata.sock`),
    }));
    // Each host's metadata service, answering from what that host's agent would hold.
    metadata = [view1, view2].map((v, i) => new MetadataService(path.join(dir, `h${i + 1}-metadata.sock`), () => assignments(v().networks)));
    for (const m of metadata) await m.start();
    await guest('a', 'ohn-h1', A());
    await guest('b', 'ohn-h2', B());
    await guest('c', 'ohn-h1', C());
  });

  afterAll(async () => {
    for (const m of metadata ?? []) await m.stop();
    // An empty view removes everything: bridges, tunnels, service namespaces and their dnsmasq.
    for (const p of plumbing ?? []) await p.converge({ networks: [] }).catch(() => {});
    for (const ns of [...guests, 'ohn-h1', 'ohn-h2']) await sh('ip', 'netns', 'del', ns).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('hands each port its fixed address by DHCP, with gateway, DNS and MTU, and pings across the VXLAN tunnel', async () => {
    expect(await converge()).toEqual(['aaaaaaaa-0001', 'bbbbbbbb-0002', 'cccccccc-0003']);
    expect(await dhcp('ohn-ga')).toBe('bound ip=10.50.0.10 mask=24 router=10.50.0.1 dns=10.50.0.53 mtu=1400');
    expect(await dhcp('ohn-gb')).toBe('bound ip=10.50.0.11 mask=24 router=10.50.0.1 dns=10.50.0.53 mtu=1400');
    expect(await dhcp('ohn-gc')).toBe('bound ip=10.50.0.11 mask=24 router=10.50.0.1 dns=10.50.0.53 mtu=1400');
    const links = await sh('ip', '-n', 'ohn-h1', '-d', 'link', 'show', 'ovx-4001');
    expect(links).toContain('vxlan id 4001 local 10.253.0.1');
    expect(await sh('bridge', '-n', 'ohn-h1', 'fdb', 'show', 'dev', 'ovx-4001')).toContain('00:00:00:00:00:00 dst 10.253.0.2');
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(true);
    expect(await pings('ohn-gb', '10.50.0.10')).toBe(true);
    // Each host answers for the gateway itself; the service MAC never crosses the tunnel.
    expect(await pings('ohn-gb', '10.50.0.1')).toBe(true);
    expect(await inNs('ohn-gb', 'ip', 'neigh', 'show', '10.50.0.1')).toContain(SERVICE_MAC);
  });

  it('serves each guest its own metadata at 169.254.169.254, by network, address and MAC: the same address in another network gets its own', async () => {
    const get = (ns: string, p: string) => inNs(ns, 'busybox', 'wget', '-q', '-O', '-', `http://169.254.169.254${p}`);
    const uuidOf = async (ns: string) => JSON.parse(await get(ns, '/openstack/latest/meta_data.json')).uuid;
    expect(await uuidOf('ohn-ga')).toBe('i-aaaaaaaa-0001');
    expect(await uuidOf('ohn-gb')).toBe('i-bbbbbbbb-0002');
    expect(await uuidOf('ohn-gc')).toBe('i-cccccccc-0003'); // B's address, another network: C's own
    expect(await get('ohn-ga', '/latest/meta-data/local-ipv4')).toBe('10.50.0.10');
    expect(await get('ohn-gc', '/openstack/latest/user_data')).toBe('user data of i-cccccccc-0003');
    const net = JSON.parse(await get('ohn-gb', '/openstack/latest/network_data.json'));
    expect(net.links).toEqual([expect.objectContaining({ ethernet_mac_address: 'fa:16:3e:0b:00:02', vif_id: 'bbbbbbbb-0002' })]);
  });

  it('keeps another network apart even with the same CIDR and addresses', async () => {
    expect(await pings('ohn-gc', '10.50.0.10')).toBe(false);
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(true);
  });

  it('applies security group changes to the running ports', async () => {
    bRules = [anyEgress, sshIn];
    await converge();
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(false);
    bRules = [anyEgress, sshIn, icmpIn];
    await converge();
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(true);
  });

  it('drops what a guest sends from another address or MAC', async () => {
    await sh('ip', '-n', 'ohn-ga', 'addr', 'add', '10.50.0.99/24', 'dev', 'eth0');
    expect(await pings('ohn-ga', '10.50.0.11', ['-I', '10.50.0.99'])).toBe(false);
    await sh('ip', '-n', 'ohn-ga', 'addr', 'del', '10.50.0.99/24', 'dev', 'eth0');
    await sh('ip', '-n', 'ohn-ga', 'link', 'set', 'eth0', 'address', 'fa:16:3e:0a:00:99');
    await sh('ip', '-n', 'ohn-gb', 'neigh', 'flush', 'all');
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(false);
    await sh('ip', '-n', 'ohn-ga', 'link', 'set', 'eth0', 'address', A().mac);
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(true);
  });

  it('puts back what was removed behind its back, and removes what no network needs', async () => {
    await sh('ip', '-n', 'ohn-h1', 'link', 'del', 'obr-4001');
    await sh('ip', '-n', 'ohn-h1', 'link', 'add', 'obr-9999', 'type', 'bridge');
    await sh('pkill', '-f', path.join(dir, 'h2'));
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(false);
    await converge();
    expect(await pings('ohn-ga', '10.50.0.11')).toBe(true);
    expect(await sh('ip', '-n', 'ohn-h1', 'link', 'show', 'master', 'obr-4001')).toContain(tapName('aaaaaaaa-0001'));
    await expect(sh('ip', '-n', 'ohn-h1', 'link', 'show', 'obr-9999')).rejects.toThrow();
    await inNs('ohn-gb', 'ip', 'addr', 'flush', 'dev', 'eth0');
    expect(await dhcp('ohn-gb')).toContain('ip=10.50.0.11');
    // Network 4002 leaves host 1: its bridge, tunnel and service namespace go.
    const leaving = plumbing[0]!;
    await leaving.converge({ networks: [network(4001, [UNDERLAY[1]!], [A()])] });
    await expect(sh('ip', '-n', 'ohn-h1', 'link', 'show', 'obr-4002')).rejects.toThrow();
    expect(await sh('ip', 'netns', 'list')).not.toContain('ohn-s1-4002');
    expect(await sh('ip', 'netns', 'list')).toContain('ohn-s1-4001');
  });

  it('NATs a floating IP to its port from an outside network, and stops when it is disassociated', async () => {
    await sh('ip', '-n', 'ohn-h1', 'link', 'add', 'ext-br', 'type', 'bridge');
    await sh('ip', '-n', 'ohn-h1', 'link', 'set', 'ext-br', 'up');
    await sh('ip', 'netns', 'add', 'ohn-out');
    guests.push('ohn-out');
    await sh('ip', '-n', 'ohn-h1', 'link', 'add', 'ohn-x', 'master', 'ext-br', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'ohn-out');
    await sh('ip', '-n', 'ohn-out', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
    await sh('ip', '-n', 'ohn-out', 'link', 'set', 'eth0', 'up');
    const aRules = [anyEgress, icmpIn];
    const withRules = () => ({ ...A(), rules: aRules });
    floating = [{ address: '192.0.2.50', fixedIp: '10.50.0.10', externalBridge: 'ext-br', externalPrefixLength: 24, externalGateway: '192.0.2.1' }];
    await plumbing[0]!.converge({ networks: [network(4001, [UNDERLAY[1]!], [withRules()], floating)] });
    expect(await pings('ohn-out', '192.0.2.50')).toBe(true);
    // The guest reaches the outside from its floating address.
    expect(await pings('ohn-ga', '192.0.2.1')).toBe(true);
    expect(await sh('ip', 'netns', 'exec', 'ohn-s1-4001', 'conntrack', '-L', '-d', '192.0.2.50')).toContain('dst=192.0.2.50');
    floating = [];
    await plumbing[0]!.converge({ networks: [network(4001, [UNDERLAY[1]!], [withRules()])] });
    expect(await pings('ohn-out', '192.0.2.50')).toBe(false);
    expect(await pings('ohn-ga', '192.0.2.1')).toBe(false);
  });
});
