import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, waitFor } from './support/fixtures.ts';
import { GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { GuestShell } from './support/guest-shell.ts';
import { uploadImage } from './support/images.ts';
import { twoLibvirtHosts, twoLibvirtHostsDown } from './support/two-libvirt-hosts.ts';

/**
 * Guests on two real libvirt hosts (network namespaces joined by a veth underlay) reaching each
 * other over Orrery's networks: DHCP from the host, VXLAN between hosts, security groups and
 * anti-spoofing on the taps, project isolation, live migration, and a floating IP from an
 * "outside" namespace. What a guest sees is read from its serial console (through the API) and
 * from the line shell on its guest-agent channel.
 */
const run = promisify(execFile);
const BOOT_MS = 120_000;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkpX5iJ0Ay1L4+kp0y5C4u3VwA3fPq6lOq0TyI2fR1d ops@laptop';

const fixture = await twoLibvirtHosts();
if ('unavailable' in fixture) console.warn(`\n*** SKIPPING the two-host network tests: ${fixture.unavailable} ***\n`);

interface Guest {
  id: string;
  ip: string;
  mac: string;
  portId: string;
  host: 1 | 2;
  shell: GuestShell;
}

describe.skipIf('unavailable' in fixture)('networks between guests on two real libvirt hosts', () => {
  const uris = 'uris' in fixture ? fixture.uris : [];
  let tcp: TestControlPlane;
  let other: OrreryClient;
  const agents: AgentProcess[] = [];
  let stateDir: string;
  const g: Record<'one' | 'two' | 'stranger', Guest> = {} as never;
  let groupId = '';

  const ok = <T extends { __typename: string }>(r: T, want: string): T => {
    if (r.__typename !== want) throw new Error(`${want} expected, got ${JSON.stringify(r)}`);
    return r;
  };
  const mutate = async (client: OrreryClient, field: string, query: string, vars: Record<string, unknown>) =>
    (await client.request(query, vars))[field];
  const hostId = async (n: 1 | 2) => (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = ${'nt-h' + n}`)[0]!.id;
  const setEnabled = (n: 1 | 2, enabled: boolean) =>
    tcp.admin.request(`mutation($h: String!, $e: Boolean!) { updateHost(ref: $h, input: {enabled: $e}) { __typename } }`, { h: `nt-h${n}`, e: enabled });
  const consoleOf = async (id: string) =>
    (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 400) { output } }`, { id })).consoleOutput?.output ?? '';
  const ping = (from: Guest, to: string, count = 3) => from.shell.run(`ping -c ${count} -W 2 ${to} >/dev/console 2>&1`, 60_000);

  async function port(client: OrreryClient, network: string, securityGroups?: string[], ip?: string) {
    const r = ok(await mutate(client, 'createPort',
      `mutation($i: PortInput!) { createPort(input: $i) { __typename ... on CreatePortSuccess { port { id macAddress fixedIps { ip } } } ... on Error { message } } }`,
      { i: { network, securityGroups, fixedIps: ip ? [{ ip }] : undefined } }), 'CreatePortSuccess');
    return (r as unknown as { port: { id: string; macAddress: string; fixedIps: { ip: string }[] } }).port;
  }

  async function boot(client: OrreryClient, name: string, network: string, host: 1 | 2, securityGroups?: string[], ip?: string): Promise<Guest> {
    const p = await port(client, network, securityGroups, ip);
    await setEnabled(host === 1 ? 2 : 1, false);
    const made = ok(await createInstance(client, {
      name, flavor: 'tiny', image: 'tiny-guest', networks: [{ port: p.id }], userData: `user data of ${name}`,
      keyName: client === tcp.admin ? 'ops' : undefined,
    }), 'CreateInstanceSuccess');
    const id = (made as unknown as { instance: { id: string } }).instance.id;
    await waitFor(`${name} active`, () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active', BOOT_MS)
      .catch((e) => { throw new Error(`${(e as Error).message}\n${agents.map((a) => a.log()).join('\n---\n')}`); });
    await setEnabled(host === 1 ? 2 : 1, true);
    const shell = await GuestShell.open(path.join(stateDir, `h${host}`, 'instances', id, 'guest-agent.sock'), BOOT_MS);
    return { id, ip: p.fixedIps[0]!.ip, mac: p.macAddress, portId: p.id, host, shell };
  }

  beforeAll(async () => {
    tcp = await startTestControlPlane();
    ({ client: other } = await tcp.userClient('other-project', 'olga', ['member']));
    const guest = await testGuest();
    const image = await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await tcp.admin.request(`mutation($id: String!) { updateImage(ref: $id, input: {properties: [{key: "hw_qemu_guest_agent", value: "yes"}]}) { __typename } }`, { id: image });
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    await tcp.admin.request(`mutation($i: KeyPairInput!) { createKeyPair(input: $i) { __typename } }`, { i: { name: 'ops', publicKey: KEY } });
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'orrery-networks-'));
    // The external network's bridge on host 1, and an "outside" namespace on it.
    await run('ip', ['-n', 'orr-h1', 'link', 'add', 'orrext', 'up', 'type', 'bridge']);
    await run('ip', ['netns', 'add', 'orr-out']);
    await run('ip', ['-n', 'orr-h1', 'link', 'add', 'orr-outv', 'master', 'orrext', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'orr-out']);
    await run('ip', ['-n', 'orr-out', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await run('ip', ['-n', 'orr-out', 'link', 'set', 'eth0', 'up']);
    const token = await enrollmentToken(tcp.admin);
    for (const n of [1, 2] as const) {
      agents.push(startAgentProcess(['--driver', 'libvirt', '--uri', uris[n - 1]!, '--name', `nt-h${n}`, '--api', tcp.url,
        '--enrollment-token', token, '--state-dir', path.join(stateDir, `h${n}`), '--heartbeat', '1', '--reserved-memory-mb', '0',
        '--migration-uri', `qemu+tcp://10.252.0.${n}/system`, '--network-namespace', `orr-h${n}`, '--tunnel-address', `10.252.0.${n}`]));
    }
    await waitFor('both hosts up with tunnel addresses', async () => (await tcp.db.sql`
      select 1 from hosts where name like 'nt-h%' and last_heartbeat_at > now() - interval '5 seconds' and tunnel_address is not null`).length,
    (n) => n === 2, 60_000);

    const net = (client: OrreryClient, name: string, cidr: string) => mutate(client, 'createNetwork',
      `mutation($i: NetworkInput!) { createNetwork(input: $i) { __typename ... on Error { message } } }`, { i: { name } })
      .then((r) => ok(r, 'CreateNetworkSuccess'))
      .then(() => mutate(client, 'createSubnet', `mutation($i: SubnetInput!) { createSubnet(input: $i) { __typename ... on Error { message } } }`,
        { i: { network: name, cidr, dnsServers: ['10.60.0.53'] } }))
      .then((r) => ok(r, 'CreateSubnetSuccess'));
    await net(tcp.admin, 'net-a', '10.60.0.0/24');
    // Another project's network with the same CIDR.
    await net(other, 'net-b', '10.60.0.0/24');
    // A group without any ICMP rule: only SSH comes in.
    const sg = await mutate(tcp.admin, 'createSecurityGroup',
      `mutation { createSecurityGroup(input: {name: "ssh-only"}) { __typename ... on CreateSecurityGroupSuccess { securityGroup { id } } ... on Error { message } } }`, {});
    groupId = ok(sg, 'CreateSecurityGroupSuccess').securityGroup.id;
    ok(await mutate(tcp.admin, 'createSecurityGroupRule', `mutation { createSecurityGroupRule(input: {securityGroup: "ssh-only", direction: "ingress", protocol: "tcp", portMin: 22, portMax: 22}) { __typename ... on Error { message } } }`, {}),
      'CreateSecurityGroupRuleSuccess');
    g.one = await boot(tcp.admin, 'one', 'net-a', 1, ['ssh-only']);
    g.two = await boot(tcp.admin, 'two', 'net-a', 2, ['ssh-only']);
    // Holds the same address as `two`, on the other project's network, on host 1.
    g.stranger = await boot(other, 'stranger', 'net-b', 1, undefined, g.two.ip);
  }, 600_000);

  afterAll(async () => {
    for (const x of Object.values(g)) x.shell.close();
    for (const a of agents) await a.stop();
    await tcp?.stop();
    // dnsmasq runs on in the service namespaces: stop it before the namespaces go.
    await run('pkill', ['-f', `${stateDir}/`]).catch(() => {});
    await run('ip', ['netns', 'del', 'orr-out']).catch(() => {});
    for (const ns of (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!)) {
      if (ns.startsWith('orrsvc-nt-h')) await run('ip', ['netns', 'del', ns]).catch(() => {});
    }
    await twoLibvirtHostsDown();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, 120_000);

  it('gives each guest its port address by DHCP, with the gateway, DNS and MTU of the network', async () => {
    for (const x of Object.values(g)) {
      const line = `ORRERY-GUEST-DHCP bound interface=eth0 ip=${x.ip} mask=24 router=10.60.0.1 dns=10.60.0.53 mtu=1450`;
      await waitFor(`DHCP lease on ${x.id}'s console`, () => consoleOf(x.id), (o) => o.includes(line), BOOT_MS);
    }
    expect(g.stranger.ip).toBe(g.two.ip);
    expect((await g.one.shell.run('ip -o addr show eth0')).output).toContain(`inet ${g.one.ip}/24`);
    expect(g.one.host).not.toBe(g.two.host);
    expect((await tcp.db.sql`select host_id from instances where id = ${g.two.id}`)[0]!.host_id).toBe(await hostId(2));
  });

  it("each guest reads its own metadata from 169.254.169.254 at boot (uuid, hostname, key, user data), even at another project's same address", async () => {
    const printed = (o: string, f: string) => o.split(`ORRERY-GUEST-METADATA-BEGIN ${f}\n`)[1]?.split(`\nORRERY-GUEST-METADATA-END ${f}`)[0]?.replace(/\r/g, '');
    for (const [name, x] of Object.entries(g)) {
      const out = await waitFor(`${name}'s metadata on its console`, () => consoleOf(x.id), (o) => o.includes('ORRERY-GUEST-METADATA-END user_data'), BOOT_MS);
      const meta = JSON.parse(printed(out, 'meta_data.json')!);
      expect(meta).toMatchObject({ uuid: x.id, name, hostname: name });
      expect(meta.public_keys).toEqual(name === 'stranger' ? undefined : { ops: KEY });
      expect(printed(out, 'user_data')).toBe(`user data of ${name}`);
    }
    // The stranger holds two's address in another network: each read only its own.
    expect(g.stranger.ip).toBe(g.two.ip);
  });

  it('blocks ping without an ICMP rule, and lets it through across the tunnel once the rule is added', async () => {
    expect((await ping(g.one, g.two.ip)).rc).not.toBe(0);
    ok(await mutate(tcp.admin, 'createSecurityGroupRule',
      `mutation($g: String!) { createSecurityGroupRule(input: {securityGroup: $g, direction: "ingress", protocol: "icmp"}) { __typename ... on Error { message } } }`,
      { g: groupId }), 'CreateSecurityGroupRuleSuccess');
    // Within seconds on the running guests, no reboot.
    await waitFor('ping passes', async () => (await ping(g.one, g.two.ip, 1)).rc, (rc) => rc === 0, 30_000);
    expect((await ping(g.one, g.two.ip)).rc).toBe(0);
    expect((await ping(g.two, g.one.ip)).rc).toBe(0);
    await waitFor('the replies on the console', () => consoleOf(g.one.id), (o) => o.includes(`bytes from ${g.two.ip}`), 30_000);
  });

  it('drops what a guest sends from an address or MAC not its port\'s', async () => {
    const spoof = '10.60.0.222';
    expect((await g.one.shell.run(`ip addr add ${spoof}/24 dev eth0`)).rc).toBe(0);
    expect((await g.one.shell.run(`ping -c 2 -W 2 -I ${spoof} ${g.two.ip}`, 60_000)).rc).not.toBe(0);
    await g.one.shell.run(`ip addr del ${spoof}/24 dev eth0`);
    expect((await g.one.shell.run(`ip link set eth0 address fa:16:3e:de:ad:01 && ping -c 2 -W 2 ${g.two.ip}`, 60_000)).rc).not.toBe(0);
    expect((await g.one.shell.run(`ip link set eth0 address ${g.one.mac} && ping -c 2 -W 2 ${g.two.ip}`, 60_000)).rc).toBe(0);
  });

  it('keeps another project\'s network apart, even with the same CIDR and address', async () => {
    // Same host as `one`, same address as `two`; its own network works (its gateway answers).
    expect((await ping(g.stranger, '10.60.0.1')).rc).toBe(0);
    expect((await ping(g.stranger, g.one.ip)).rc).not.toBe(0);
    expect((await ping(g.one, g.two.ip, 1)).rc).toBe(0);
    expect((await g.one.shell.run('ip neigh show')).output).not.toContain(g.stranger.mac);
  });

  it('keeps the guest\'s address through a live migration; its ping answers after the move', async () => {
    await g.one.shell.run(`(ping -i 0.2 -c 150 -W 1 ${g.two.ip} > /tmp/mig.txt 2>&1 &)`);
    await new Promise((r) => setTimeout(r, 2000));
    const r = await tcp.admin.request(`mutation($id: ID!) { liveMigrateInstance(id: $id, host: "nt-h1") { __typename ... on Error { message } } }`, { id: g.two.id });
    expect(r.liveMigrateInstance.__typename).toBe('LiveMigrateInstanceSuccess');
    const h1 = await hostId(1);
    await waitFor('two live-migrated to nt-h1', () => instanceRow(tcp.db.sql, g.two.id), (x) => x?.host_id === h1 && x.task_state === null && x.vm_state === 'active', BOOT_MS)
      .catch((e) => { throw new Error(`${(e as Error).message}\n${agents.map((a) => a.log()).join('\n---\n')}`); });
    const summary = await waitFor('the pinger done', async () => (await g.one.shell.run('cat /tmp/mig.txt')).output,
      (o) => /packets transmitted/.test(o), 60_000);
    const [, sent, received] = /(\d+) packets transmitted, (\d+) packets received/.exec(summary)!;
    console.log(`live migration: ${Number(sent) - Number(received)} of ${sent} pings lost (one every 0.2 s)`);
    expect(Number(received)).toBeGreaterThan(Number(sent) / 2);
    expect((await ping(g.one, g.two.ip)).rc).toBe(0);
    const ports = await tcp.db.sql`select p.mac::text as mac, host(pi.ip) as ip from ports p join port_ips pi on pi.port_id = p.id where p.instance_id = ${g.two.id}`;
    expect(ports).toEqual([{ mac: g.two.mac, ip: g.two.ip }]);
    // Host 2 carries no instance of net-a now: its bridge and tunnel are gone.
    await waitFor('net-a gone from nt-h2', async () => (await run('ip', ['-n', 'orr-h2', '-o', 'link', 'show'])).stdout,
      (o) => !/obr-|ovx-/.test(o), 30_000);
  });

  it('reaches the guest at its floating IP from outside, and stops when it is disassociated', async () => {
    ok(await mutate(tcp.admin, 'createNetwork', `mutation { createNetwork(input: {name: "ext", external: true, providerBridge: "orrext"}) { __typename ... on Error { message } } }`, {}),
      'CreateNetworkSuccess');
    ok(await mutate(tcp.admin, 'createSubnet', `mutation { createSubnet(input: {network: "ext", cidr: "192.0.2.0/24", gatewayIp: "192.0.2.1", dhcpEnabled: false,
      allocationPools: [{first: "192.0.2.100", last: "192.0.2.120"}]}) { __typename ... on Error { message } } }`, {}), 'CreateSubnetSuccess');
    const fip = ok(await mutate(tcp.admin, 'createFloatingIp', `mutation { createFloatingIp(network: "ext") { __typename ... on CreateFloatingIpSuccess { floatingIp { id address } } ... on Error { message } } }`, {}),
      'CreateFloatingIpSuccess').floatingIp as { id: string; address: string };
    ok(await mutate(tcp.admin, 'associateFloatingIp', `mutation($id: ID!, $p: ID!) { associateFloatingIp(id: $id, port: $p) { __typename ... on Error { message } } }`,
      { id: fip.id, p: g.one.portId }), 'AssociateFloatingIpSuccess');
    const outside = (count = 2) => run('ip', ['netns', 'exec', 'orr-out', 'busybox', 'ping', '-c', String(count), '-W', '2', fip.address]).then(() => true, () => false);
    await waitFor('the floating IP answers from outside', () => outside(1), (x) => x, 30_000);
    expect(await outside()).toBe(true);
    // The guest's own traffic to the outside leaves from its floating address.
    expect((await g.one.shell.run('ping -c 2 -W 2 192.0.2.1', 60_000)).rc).toBe(0);
    ok(await mutate(tcp.admin, 'disassociateFloatingIp', `mutation($id: ID!) { disassociateFloatingIp(id: $id) { __typename ... on Error { message } } }`, { id: fip.id }),
      'DisassociateFloatingIpSuccess');
    await waitFor('the floating IP stops answering', () => outside(1), (x) => !x, 30_000);
    expect(await outside()).toBe(false);
  });
});
