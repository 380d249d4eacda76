import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let other: OrreryClient;

const RESULT = `__typename ... on ValidationError { field message } ... on NotFoundError { field } ... on ConflictError { message }
  ... on AddressExhaustedError { subnetId cidr field } ... on Error { message }`;

async function createNetwork(c: OrreryClient, input: Record<string, unknown>) {
  const d = await c.request(`mutation($i: NetworkInput!) { createNetwork(input: $i) { ${RESULT}
    ... on CreateNetworkSuccess { network { id name mtu shared external segment { kind vni bridge } } } } }`, { i: input });
  return d.createNetwork;
}

async function createSubnet(c: OrreryClient, input: Record<string, unknown>) {
  const d = await c.request(`mutation($i: SubnetInput!) { createSubnet(input: $i) { ${RESULT}
    ... on CreateSubnetSuccess { subnet { id cidr gatewayIp allocationPools { first last } } } } }`, { i: input });
  return d.createSubnet;
}

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'n.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member } = await tcp.userClient('netp', 'nora', ['member']));
  ({ client: other } = await tcp.userClient('othp', 'olga', ['member']));
});
afterAll(async () => {
  await tcp?.stop();
});

describe('networks', () => {
  it('get the lowest free VNI and the segment MTU; admin-only kinds are refused to members', async () => {
    const a = await createNetwork(member, { name: 'net-a' });
    const b = await createNetwork(member, { name: 'net-b' });
    expect(a.network).toMatchObject({ mtu: 1450, segment: { kind: 'vxlan', vni: 1, bridge: null } });
    expect(b.network.segment.vni).toBe(2);
    for (const input of [{ name: 's', shared: true }, { name: 'e', external: true }, { name: 'p', providerBridge: 'br-ex' }]) {
      expect((await createNetwork(member, input)).__typename).toBe('ForbiddenError');
    }
    const p = await createNetwork(tcp.admin, { name: 'provider', providerBridge: 'br-ex', shared: true });
    expect(p.network).toMatchObject({ mtu: 1500, segment: { kind: 'bridge', vni: null, bridge: 'br-ex' } });
    expect((await createNetwork(member, { name: 'net-a' })).__typename).toBe('ConflictError');
    await member.request(`mutation { deleteNetwork(ref: "net-b") { __typename } }`);
    expect((await createNetwork(member, { name: 'net-c' })).network.segment.vni).toBe(2);
  });

  it('subnets: default pools skip network, broadcast and gateway; the service port takes the first as DHCP server', async () => {
    const s = await createSubnet(member, { network: 'net-a', cidr: '10.0.0.0/24' });
    expect(s.subnet).toMatchObject({ cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', allocationPools: [{ first: '10.0.0.2', last: '10.0.0.254' }] });
    const rows = await tcp.db.sql<{ device_owner: string; ip: string }[]>`
      select p.device_owner, host(pi.ip) as ip from ports p join port_ips pi on pi.port_id = p.id where pi.subnet_id = ${s.subnet.id}`;
    expect(rows).toEqual([{ device_owner: 'network:service', ip: '10.0.0.2' }]);
  });

  it('validation names the field and writes nothing', async () => {
    const before = await tcp.db.sql`select count(*)::int as n from subnets`;
    const cases: [Record<string, unknown>, string][] = [
      [{ network: 'net-c', cidr: '10.0.0.300/24' }, 'input.cidr'],
      [{ network: 'net-c', cidr: '10.0.0.1/24' }, 'input.cidr'],
      [{ network: 'net-c', cidr: '10.1.0.0/24', gatewayIp: '10.2.0.1' }, 'input.gatewayIp'],
      [{ network: 'net-c', cidr: '10.1.0.0/24', allocationPools: [{ first: '10.1.0.10', last: '10.1.0.20' }, { first: '10.1.0.15', last: '10.1.0.30' }] }, 'input.allocationPools.1'],
      [{ network: 'net-c', cidr: '10.1.0.0/24', allocationPools: [{ first: '10.1.0.10', last: '10.1.1.20' }] }, 'input.allocationPools.0'],
      [{ network: 'net-c', cidr: '10.1.0.0/24', allocationPools: [{ first: '10.1.0.1', last: '10.1.0.20' }] }, 'input.allocationPools.0'],
      [{ network: 'net-a', cidr: '10.0.0.128/25' }, 'input.cidr'],
    ];
    for (const [input, field] of cases) {
      expect(await createSubnet(member, input), JSON.stringify(input)).toMatchObject({ __typename: 'ValidationError', field });
    }
    expect(await tcp.db.sql`select count(*)::int as n from subnets`).toEqual(before);
    // Overlap across networks (and projects) is allowed, as in Neutron.
    expect((await createSubnet(member, { network: 'net-c', cidr: '10.0.0.0/24' })).__typename).toBe('CreateSubnetSuccess');
  });

  it("a member cannot use another project's network: not found, as if invisible", async () => {
    const r = await createInstance(other, { name: 'x', flavor: 'n.small', image: 'test-image', networks: [{ network: 'net-a' }] });
    expect(r).toMatchObject({ __typename: 'NotFoundError', field: 'input.networks.0.network' });
    const p = await other.request(`mutation { createPort(input: { network: "net-a" }) { ${RESULT} } }`);
    expect(p.createPort).toMatchObject({ __typename: 'NotFoundError', field: 'input.network' });
    expect((await other.request(`{ networks { name } }`)).networks).toEqual([{ name: 'provider' }]);
  });

  it('an instance gets its ports and addresses; a fixed IP outside the network is refused; delete releases them', async () => {
    const bad = await createInstance(member, { name: 'b', flavor: 'n.small', image: 'test-image', networks: [{ network: 'net-a', fixedIp: '10.9.0.5' }] });
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'input.networks.0.fixedIp' });
    const r = await createInstance(member, { name: 'vm', flavor: 'n.small', image: 'test-image', networks: [{ network: 'net-a' }, { network: 'net-a', fixedIp: '10.0.0.50' }] });
    expect(r.__typename).toBe('CreateInstanceSuccess');
    const d = await member.request(`query($id: ID!) { instance(id: $id) { ports { networkName macAddress fixedIps { ip } createdByInstance } } }`, { id: r.instance.id });
    expect(d.instance.ports.map((p: { fixedIps: { ip: string }[] }) => p.fixedIps[0]!.ip).sort()).toEqual(['10.0.0.3', '10.0.0.50']);
    for (const p of d.instance.ports) expect(p).toMatchObject({ networkName: 'net-a', macAddress: expect.stringMatching(/^fa:16:3e(:[0-9a-f]{2}){3}$/), createdByInstance: true });
    const del = await member.request(`mutation { deleteNetwork(ref: "net-a") { ${RESULT} } }`);
    expect(del.deleteNetwork.__typename).toBe('ConflictError');
    // A user's own port is detached, not deleted, when its instance goes.
    const own = await member.request(`mutation { createPort(input: { network: "net-a", name: "keep" }) { ${RESULT} ... on CreatePortSuccess { port { id fixedIps { ip } } } } }`);
    const vm2 = await createInstance(member, { name: 'vm2', flavor: 'n.small', image: 'test-image', networks: [{ port: own.createPort.port.id }] });
    expect(vm2.__typename).toBe('CreateInstanceSuccess');
    await tcp.db.sql`delete from instances where id in (${r.instance.id}, ${vm2.instance.id})`;
    const left = await tcp.db.sql<{ name: string; instance_id: string | null; ips: string[] }[]>`
      select p.name, p.instance_id, array(select host(ip) from port_ips where port_id = p.id) as ips
        from ports p where p.device_owner = 'compute'`;
    expect(left).toEqual([{ name: 'keep', instance_id: null, ips: own.createPort.port.fixedIps.map((f: { ip: string }) => f.ip) }]);
  });

  it('with no networks asked, an instance gets a port on the project\'s only network', async () => {
    const r = await createInstance(other, { name: 'solo', flavor: 'n.small', image: 'test-image' });
    const [none] = await tcp.db.sql`select count(*)::int as n from ports where instance_id = ${r.instance.id}`;
    expect(none!.n).toBe(0);
    await createNetwork(other, { name: 'only' });
    await createSubnet(other, { network: 'only', cidr: '192.168.5.0/24' });
    const s = await createInstance(other, { name: 'solo2', flavor: 'n.small', image: 'test-image' });
    const ports = await tcp.db.sql<{ ip: string }[]>`
      select host(pi.ip) as ip from ports p join port_ips pi on pi.port_id = p.id where p.instance_id = ${s.instance.id}`;
    expect(ports).toEqual([{ ip: '192.168.5.3' }]);
  });

  it('the default security group is made with the first network and cannot be deleted', async () => {
    const g = await member.request(`{ securityGroups { name rules { direction ethertype remoteGroupId } id } }`);
    const def = g.securityGroups.find((x: { name: string }) => x.name === 'default');
    expect(def.rules).toHaveLength(4);
    expect(def.rules.filter((r: { remoteGroupId: string | null }) => r.remoteGroupId === def.id)).toHaveLength(2);
    const d = await member.request(`mutation { deleteSecurityGroup(ref: "default") { ${RESULT} } }`);
    expect(d.deleteSecurityGroup.__typename).toBe('ConflictError');
    await member.request(`mutation { createSecurityGroup(input: { name: "web" }) { __typename } }`);
    await member.request(`mutation { createPort(input: { network: "net-a", name: "w", securityGroups: ["web"] }) { __typename } }`);
    const inUse = await member.request(`mutation { deleteSecurityGroup(ref: "web") { ${RESULT} } }`);
    expect(inUse.deleteSecurityGroup.__typename).toBe('ConflictError');
  });
});
