import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { rootLog } from '../core/log.ts';
import { ChangeFeed, type Change } from '../server/change-feed.ts';
import { agentView } from '../store/agent-view.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';
import { seedHosts } from './support/scheduler-seed.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let other: OrreryClient;
let hostA: string;
let hostB: string;
let hostC: string;
let vmA: string;
let vmB: string;
let feed: ChangeFeed;

const ok = async (c: OrreryClient, q: string) => {
  const d = await c.request(q);
  const r = Object.values(d)[0] as { __typename: string; message?: string };
  if (!r.__typename.endsWith('Success')) throw new Error(`${r.__typename}: ${r.message}`);
  return r;
};

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'v.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member } = await tcp.userClient('viewp', 'vera', ['member']));
  ({ client: other } = await tcp.userClient('elsewhere', 'ezra', ['member']));
  await seedHosts(tcp.db.sql, 'view', 3);
  [hostA, hostB, hostC] = (await tcp.db.sql<{ id: string }[]>`select id from hosts order by name`).map((h) => h.id);
  await tcp.db.sql`update hosts set tunnel_address = case id when ${hostA!}::uuid then '192.0.2.1'::inet when ${hostB!}::uuid then '192.0.2.2'::inet else '192.0.2.3'::inet end`;
  await ok(member, `mutation { createNetwork(input: { name: "app" }) { __typename } }`);
  await ok(member, `mutation { createSubnet(input: { network: "app", cidr: "10.1.0.0/24", dnsServers: ["10.1.0.53"] }) { __typename } }`);
  await ok(other, `mutation { createNetwork(input: { name: "theirs" }) { __typename } }`);
  await ok(other, `mutation { createSubnet(input: { network: "theirs", cidr: "10.1.0.0/24" }) { __typename } }`);
  vmA = (await createInstance(member, { name: 'a', flavor: 'v.small', image: 'test-image' })).instance.id;
  vmB = (await createInstance(member, { name: 'b', flavor: 'v.small', image: 'test-image' })).instance.id;
  const vmO = (await createInstance(other, { name: 'o', flavor: 'v.small', image: 'test-image' })).instance.id;
  await tcp.db.sql`update instances set host_id = ${hostA!} where id = ${vmA}`;
  await tcp.db.sql`update instances set host_id = ${hostB!} where id = ${vmB}`;
  await tcp.db.sql`update instances set host_id = ${hostC!} where id = ${vmO}`;
  feed = new ChangeFeed(rootLog());
  await feed.start(tcp.db.sql);
});
afterAll(async () => {
  await feed?.stop();
  await tcp?.stop();
});

describe("a host's network view", () => {
  it('holds exactly its networks and ports, with the other hosts carrying them as peers', async () => {
    const a = (await agentView(tcp.db.sql, hostA)).networks;
    expect(a).toHaveLength(1);
    const net = a[0]!;
    expect(net).toMatchObject({ name: 'app', segment: { kind: 'vxlan', vni: 1 }, mtu: 1450, peers: ['192.0.2.2'] });
    expect(net.subnets).toEqual([{
      id: expect.any(String), cidr: '10.1.0.0/24', ipVersion: 4, gatewayIp: '10.1.0.1', dhcpServerIp: '10.1.0.2',
      dnsServers: ['10.1.0.53'], hostRoutes: [],
    }]);
    expect(net.service.addresses.map((x) => x.ip).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(net.ports).toHaveLength(1);
    const port = net.ports[0]!;
    expect(port).toMatchObject({ instanceId: vmA, tap: `tap${port.id.slice(0, 11)}`, portSecurity: true, fixedIps: [{ ip: '10.1.0.3' }] });
    // The other project's network (same cidr, its own VNI) reaches only the host with its port.
    const c = (await agentView(tcp.db.sql, hostC)).networks;
    expect(c.map((n) => [n.name, n.peers])).toEqual([['theirs', []]]);
  });

  it("resolves remote-group rules to the other members' addresses, on any host", async () => {
    const a = (await agentView(tcp.db.sql, hostA)).networks[0]!.ports[0]!;
    const bIp = (await agentView(tcp.db.sql, hostB)).networks[0]!.ports[0]!.fixedIps[0]!.ip;
    const ingress4 = a.rules.find((r) => r.direction === 'ingress' && r.ethertype === 'IPv4')!;
    expect(ingress4.remoteCidrs!.sort()).toEqual([`${bIp}/32`, '10.1.0.3/32'].sort());
    expect(a.rules.find((r) => r.direction === 'egress' && r.ethertype === 'IPv4')!.remoteCidrs).toBeNull();
    expect(a.rules.find((r) => r.direction === 'ingress' && r.ethertype === 'IPv6')!.remoteCidrs).toEqual([]);
  });

  it('a rule change wakes the watch of every host with a port in the group', async () => {
    const heard: Change[] = [];
    const streams = [hostA!, hostB!, hostC!].map((h) => feed.subscribeHost(h));
    const pumps = streams.map(async (s) => { for await (const c of s) heard.push(c); });
    await ok(member, `mutation { createSecurityGroupRule(input: { securityGroup: "default", direction: "ingress", protocol: "tcp", portMin: 22, portMax: 22, remoteCidr: "0.0.0.0/0" }) { __typename } }`);
    for (let i = 0; i < 200 && new Set(heard.map((c) => c.hostId)).size < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    for (const s of streams) await s.return?.();
    await Promise.all(pumps);
    expect([...new Set(heard.map((c) => c.hostId))].sort()).toEqual([hostA, hostB].sort());
    expect(heard.every((c) => c.kind === 'host')).toBe(true);
    const ssh = (await agentView(tcp.db.sql, hostB)).networks[0]!.ports[0]!.rules.find((r) => r.portMin === 22);
    expect(ssh).toEqual({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 22, portMax: 22, remoteCidrs: ['0.0.0.0/0'] });
  });

  it('floating IPs show on the host of their port, with the external bridge', async () => {
    await ok(tcp.admin, `mutation { createNetwork(input: { name: "public", external: true, providerBridge: "br-ex" }) { __typename } }`);
    await ok(tcp.admin, `mutation { createSubnet(input: { network: "public", cidr: "203.0.113.0/24" }) { __typename } }`);
    const f = await member.request(`mutation { createFloatingIp(network: "public") { __typename ... on CreateFloatingIpSuccess { floatingIp { id address } } } }`);
    const fip = f.createFloatingIp.floatingIp;
    // .2 is the external network's DHCP server address.
    expect(fip.address).toBe('203.0.113.3');
    const port = (await agentView(tcp.db.sql, hostA)).networks[0]!.ports[0]!;
    await ok(member, `mutation { associateFloatingIp(id: "${fip.id}", port: "${port.id}") { __typename } }`);
    expect((await agentView(tcp.db.sql, hostA)).networks[0]!.floatingIps).toEqual([
      { address: '203.0.113.3', fixedIp: '10.1.0.3', externalBridge: 'br-ex', externalPrefixLength: 24, externalGateway: '203.0.113.1' },
    ]);
    expect((await agentView(tcp.db.sql, hostB)).networks[0]!.floatingIps).toEqual([]);
  });

  it('a host whose instances go no longer carries the network, and its peer loses it', async () => {
    await tcp.db.sql`delete from instances where id = ${vmB}`;
    expect((await agentView(tcp.db.sql, hostB)).networks).toEqual([]);
    expect((await agentView(tcp.db.sql, hostA)).networks[0]!.peers).toEqual([]);
  });
});
