import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { connect, type Sql } from '../db/connect.ts';
import { agentViewReads } from '../server/agent-view-reads.ts';
import { agentNetworkView, agentNetworkViews } from '../store/agent-network-view.ts';
import { agentView, agentViews } from '../store/agent-view.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';
import { seedHosts } from './support/scheduler-seed.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let other: OrreryClient;
/** fleet-0 … fleet-5; see beforeAll for what each holds. */
let hosts: string[];
/** A host id no host has. */
const unknown = randomUUID();
let vm: Record<'a1' | 'a2' | 'b1' | 'e1' | 'o1', string>;

const ok = async (c: OrreryClient, q: string) => {
  const d = await c.request(q);
  const r = Object.values(d)[0] as { __typename: string; message?: string };
  if (!r.__typename.endsWith('Success')) throw new Error(`${r.__typename}: ${r.message}`);
  return r as Record<string, any>;
};
/** Views as the agent gets them: JSON, compared as such. */
const json = (v: unknown) => JSON.parse(JSON.stringify(v));

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  const sql = tcp.db.sql;
  await createFlavor(tcp.admin, 'v.small', 1, 256, 1);
  await seedImage(sql, tcp.adminProjectId);
  ({ client: member } = await tcp.userClient('fleetp', 'fay', ['member']));
  ({ client: other } = await tcp.userClient('elsewhere', 'ezra', ['member']));
  await seedHosts(sql, 'fleet', 6);
  hosts = (await sql<{ id: string }[]>`select id from hosts order by name`).map((h) => h.id);
  const h = (i: number) => hosts[i]!;
  // fleet-4 carries no overlay (no tunnel address); fleet-5 runs nothing.
  await sql`update hosts set tunnel_address = ('192.0.2.' || substr(name, 7)::int + 1)::inet where substr(name, 7)::int < 4`;

  await ok(member, `mutation { createNetwork(input: { name: "app" }) { __typename } }`);
  await ok(member, `mutation { createSubnet(input: { network: "app", cidr: "10.1.0.0/24", dnsServers: ["10.1.0.53"] }) { __typename } }`);
  await ok(other, `mutation { createNetwork(input: { name: "theirs" }) { __typename } }`);
  await ok(other, `mutation { createSubnet(input: { network: "theirs", cidr: "10.1.0.0/24" }) { __typename } }`);
  // A second group whose rule names the default group: two remote groups on one host's ports.
  await ok(member, `mutation { createSecurityGroup(input: { name: "web" }) { __typename } }`);
  await ok(member, `mutation { createSecurityGroupRule(input: { securityGroup: "web", direction: "ingress", protocol: "tcp", portMin: 80, portMax: 80, remoteGroup: "default" }) { __typename } }`);
  await ok(member, `mutation { createSecurityGroupRule(input: { securityGroup: "web", direction: "ingress", protocol: "tcp", portMin: 443, portMax: 443, remoteCidr: "0.0.0.0/0" }) { __typename } }`);
  const webPort = (await ok(member, `mutation { createPort(input: { network: "app", securityGroups: ["web", "default"] }) { __typename ... on CreatePortSuccess { port { id } } } }`)).port.id;

  const create = async (c: OrreryClient, input: Record<string, unknown>) =>
    (await createInstance(c, { flavor: 'v.small', image: 'test-image', ...input })).instance.id as string;
  vm = {
    a1: await create(member, { name: 'a1', networks: [{ port: webPort }] }),
    a2: await create(member, { name: 'a2' }),
    b1: await create(member, { name: 'b1' }),
    e1: await create(member, { name: 'e1' }),
    o1: await create(other, { name: 'o1' }),
  };
  await sql`update instances set host_id = case name when 'a1' then ${h(0)}::uuid when 'a2' then ${h(0)}::uuid
              when 'b1' then ${h(1)}::uuid when 'e1' then ${h(4)}::uuid else ${h(2)}::uuid end`;
  // e1 is being deleted; a2 asked to stop.
  await sql`update instances set delete_requested_at = now() where id = ${vm.e1}`;
  await sql`update instances set desired_power_state = 'stopped', generation = 3 where id = ${vm.a2}`;

  const [f] = await sql<{ id: string }[]>`select id from flavors where name = 'v.small'`;
  const move = async (id: string, kind: string, from: string, to: string, status: string) => {
    const [m] = await sql<{ id: string }[]>`
      insert into migrations (instance_id, kind, source_host_id, dest_host_id, old_flavor_id, new_flavor_id, status)
      values (${id}, ${kind}, ${from}, ${to}, ${f!.id}, ${f!.id}, ${status}) returning id`;
    await sql`update instances set migration_id = ${m!.id} where id = ${id}`;
  };
  // a1 is arriving on fleet-3 (preparing: incoming there), a2 on fleet-1 (running: its port is on both hosts).
  await move(vm.a1, 'live-migration', h(0), h(3), 'preparing');
  await move(vm.a2, 'live-migration', h(0), h(1), 'running');
  // b1's cold move from fleet-1 awaits confirmation: held on fleet-1.
  await move(vm.b1, 'migration', h(1), h(2), 'finished');
  // Evacuated away: fleet-5's and fleet-0's stale domains must go.
  await sql`insert into host_fences (instance_id, host_id, reason) values (${randomUUID()}, ${h(5)}, 'evacuated'), (${vm.o1}, ${h(0)}, 'evacuated')`;

  await ok(tcp.admin, `mutation { createNetwork(input: { name: "public", external: true, providerBridge: "br-ex" }) { __typename } }`);
  await ok(tcp.admin, `mutation { createSubnet(input: { network: "public", cidr: "203.0.113.0/24" }) { __typename } }`);
  const fip = (await ok(member, `mutation { createFloatingIp(network: "public") { __typename ... on CreateFloatingIpSuccess { floatingIp { id } } } }`)).floatingIp.id;
  await ok(member, `mutation { associateFloatingIp(id: "${fip}", port: "${webPort}") { __typename } }`);
});
afterAll(async () => {
  await tcp?.stop();
});

describe('agent views of many hosts at once', () => {
  it("give each host exactly its own view, as read alone", async () => {
    const ids = [...hosts, unknown];
    const many = await agentViews(tcp.db.sql, ids);
    expect([...many.keys()]).toEqual(ids);
    for (const id of ids) expect(json(many.get(id)), id).toEqual(json(await agentView(tcp.db.sql, id)));
    const networks = await agentNetworkViews(tcp.db.sql, ids);
    for (const id of ids) expect(json(networks.get(id)), id).toEqual(json(await agentNetworkView(tcp.db.sql, id)));
  });

  it('hold what the fleet was set up with, host by host', async () => {
    const v = await agentViews(tcp.db.sql, [...hosts, unknown]);
    const [h0, h1, h2, h3, h4, h5] = hosts.map((id) => v.get(id)!);
    const app = (x: typeof h0) => x!.networks.find((n) => n.name === 'app');
    expect(h0!.instances.map((i) => i.id).sort()).toEqual([vm.a1, vm.a2].sort());
    expect(h0!.fenced).toEqual([vm.o1]);
    // Ports here: bound ones and those of guests arriving live; peers: the other hosts carrying the network.
    expect(app(h0)!.ports.map((p) => p.instanceId).sort()).toEqual([vm.a1, vm.a2].sort());
    expect(app(h0)!.peers).toEqual(['192.0.2.2', '192.0.2.4']);
    expect(app(h0)!.floatingIps.map((f) => f.externalBridge)).toEqual(['br-ex']);
    expect(app(h1)!.ports.map((p) => p.instanceId).sort()).toEqual([vm.a2, vm.b1].sort());
    expect(app(h1)!.peers).toEqual(['192.0.2.1', '192.0.2.4']);
    expect(app(h1)!.floatingIps).toEqual([]);
    expect(h1!.held.sort()).toEqual([vm.a2, vm.b1].sort());
    expect(h2!.networks.map((n) => n.name)).toEqual(['theirs']);
    expect(h3!.instances).toEqual([]);
    expect(h3!.incoming).toEqual([{ migrationId: expect.any(String), instanceId: vm.a1, diskGb: 1 }]);
    expect(app(h3)!.ports.map((p) => p.instanceId)).toEqual([vm.a1]);
    // fleet-3's port is in the web group, whose rule names the default group: every member's address, on any host.
    const members = [h0, h1, h4].flatMap((h) => app(h)!.ports.flatMap((p) => p.fixedIps.map((ip) => `${ip.ip}/32`)));
    const web = app(h3)!.ports[0]!.rules.find((r) => r.portMin === 80)!;
    expect(web.remoteCidrs!.slice().sort()).toEqual([...new Set(members)].sort());
    expect(h4!.instances.map((i) => [i.id, i.deleted])).toEqual([[vm.e1, true]]);
    expect(app(h4)!.peers).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.4']);
    expect(h5).toMatchObject({ hostName: 'fleet-5', instances: [], networks: [], fenced: [expect.any(String)] });
    expect(v.get(unknown)).toMatchObject({ hostId: unknown, hostName: '', enabled: false, instances: [], networks: [] });
  });
});

describe("the agents' batched view reads", () => {
  let counted: Sql;
  const statements: string[] = [];
  beforeAll(async () => {
    // Its own pool, so its own batcher, and every statement it sends counted.
    counted = connect(tcp.db.url, { max: 6, debug: (_c, q) => statements.push(q) });
    // Connections and types first: what the pool sends once is not a read's.
    await agentViewReads(counted).read(hosts[0]!);
  });
  afterAll(async () => {
    await counted?.end();
  });

  it('read many hosts concurrently in one set of statements, each caller getting its own host', async () => {
    const asked = [...hosts, hosts[0]!, hosts[3]!, unknown];
    const expected = await agentViews(tcp.db.sql, asked);
    statements.length = 0;
    const got = await Promise.all(asked.map((id) => agentViewReads(counted).read(id)));
    expect(statements).toHaveLength(3);
    expect(statements.every((q) => /= any\(\$\d::uuid\[\]\)/.test(q))).toBe(true);
    got.forEach((v, i) => expect(json(v), asked[i]).toEqual(json(expected.get(asked[i]!))));
  });

  it('answer a read asked for after a write with a read begun after it', async () => {
    const reads = agentViewReads(counted);
    statements.length = 0;
    const before = reads.read(hosts[5]!);
    // The first batch is sent (under way, or done); the write and the next read come after it.
    while (statements.length < 3) await new Promise((r) => setTimeout(r, 1));
    await tcp.db.sql`update hosts set enabled = false where id = ${hosts[5]!}`;
    const after = await reads.read(hosts[5]!);
    expect(after.enabled).toBe(false);
    expect((await before).hostId).toBe(hosts[5]);
    expect(statements).toHaveLength(6);
  });

  it('fail every caller of a failing batch, and read again afterwards', async () => {
    const reads = agentViewReads(counted);
    const results = await Promise.allSettled([reads.read(hosts[0]!), reads.read('not-a-host-id')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await reads.read(hosts[0]!)).hostName).toBe('fleet-0');
  });
});
