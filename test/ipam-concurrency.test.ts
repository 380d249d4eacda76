import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let members: OrreryClient[];
let subnetId: string;

const CREATE_INSTANCES = `mutation($i: [CreateInstanceInput!]!) { createInstances(inputs: $i) { __typename
  ... on AddressExhaustedError { subnetId cidr field } ... on Error { message } } }`;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'i.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  members = [];
  // One project each (quotas stay out of the way), all on one shared network.
  for (let i = 0; i < 8; i++) members.push((await tcp.userClient(`ipam-${i}`, `ida-${i}`, ['member'])).client);
  await tcp.admin.request(`mutation { createNetwork(input: { name: "tight", shared: true }) { __typename } }`);
  // 20 addresses: the service port takes the first, 19 are left for instances.
  const s = await tcp.admin.request(`mutation { createSubnet(input: { network: "tight", cidr: "10.5.0.0/24",
    allocationPools: [{ first: "10.5.0.10", last: "10.5.0.19" }, { first: "10.5.0.100", last: "10.5.0.109" }] }) {
    ... on CreateSubnetSuccess { subnet { id } } } }`);
  subnetId = s.createSubnet.subnet.id;
});
afterAll(async () => {
  await tcp?.stop();
});

describe('IPAM under concurrency', () => {
  it('8 concurrent creators never get one address twice; the pools fill lowest first; exhaustion is typed and writes nothing', async () => {
    // 8 creators x 3 instances = 24 NICs for 19 free addresses: some batches must fail whole.
    const results = await Promise.all(members.map((m, k) =>
      m.request(CREATE_INSTANCES, { i: [0, 1, 2].map((j) => ({ name: `c${k}-${j}`, flavor: 'i.small', image: 'test-image', networks: [{ network: 'tight' }] })) })));
    const outcomes = results.map((r) => r.createInstances);
    const won = outcomes.filter((o) => o.__typename === 'CreateInstancesSuccess').length;
    const lost = outcomes.filter((o) => o.__typename === 'AddressExhaustedError');
    expect(won + lost.length).toBe(8);
    expect(won).toBe(6);
    for (const e of lost) expect(e).toMatchObject({ subnetId, cidr: '10.5.0.0/24', field: expect.stringMatching(/^inputs\.[0-2]\.networks\.0$/) });
    const ips = await tcp.db.sql<{ ip: string; owner: string; instance_id: string | null }[]>`
      select host(pi.ip) as ip, p.device_owner as owner, p.instance_id from port_ips pi join ports p on p.id = pi.port_id
       where pi.subnet_id = ${subnetId} order by pi.ip`;
    expect(new Set(ips.map((r) => r.ip)).size).toBe(ips.length);
    expect(ips).toHaveLength(1 + 18);
    // Nothing half-written: every instance has its port; the losing batches left neither instances nor ports.
    const [counts] = await tcp.db.sql<{ instances: number; ports: number }[]>`
      select (select count(*)::int from instances) as instances,
             (select count(*)::int from ports where device_owner = 'compute') as ports`;
    expect(counts).toEqual({ instances: 18, ports: 18 });
    expect(ips.map((r) => r.ip).slice(0, 3)).toEqual(['10.5.0.10', '10.5.0.11', '10.5.0.12']);
  });

  it('a single create after the pools are nearly full takes the last address, then exhaustion names the subnet', async () => {
    const one = (name: string) => members[0]!.request(CREATE_INSTANCES, { i: [{ name, flavor: 'i.small', image: 'test-image', networks: [{ network: 'tight' }] }] });
    expect((await one('last')).createInstances.__typename).toBe('CreateInstancesSuccess');
    const full = (await one('over')).createInstances;
    expect(full).toMatchObject({ __typename: 'AddressExhaustedError', subnetId, field: 'inputs.0.networks.0' });
    expect(full.message).toContain('10.5.0.0/24');
    const [n] = await tcp.db.sql`select count(*)::int as n from instances where name = 'over'`;
    expect(n!.n).toBe(0);
  });
});
