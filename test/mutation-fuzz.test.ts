import fc from 'fast-check';
import { isObjectType, isUnionType, getNamedType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { schema } from '../schema/index.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, seedImage } from './support/fixtures.ts';
import { argumentValues, mutationDocument, type Plausible } from './support/input-arbitraries.ts';
import { changedTables, world } from './support/world.ts';

/**
 * Every mutation of the schema, fed inputs fast-check derives from its argument types, as an admin
 * and as a member: no call ends in an internal error (or an HTTP 5xx), and no refused call (a typed
 * `…Error` result, or any GraphQL error) writes a single row. Calls that succeed may write.
 */
const SEED = Number(process.env.ORRERY_FUZZ_SEED ?? 20_250_611);
const RUNS = Number(process.env.ORRERY_FUZZ_RUNS ?? 20);

/** Values that exist (made in beforeAll) or pass validation, by the field or argument they go into. */
const FIELD_VALUES: Record<string, string[]> = {
  flavor: ['fuzz.small'], image: ['fuzz-image'], network: ['fuzz-net'], zone: ['fuzz-az', 'nova'],
  serverGroup: ['fuzz-group'], keyName: ['fuzz-key'], securityGroup: ['fuzz-sg', 'default'], securityGroups: ['fuzz-sg', 'default'],
  remoteGroup: ['fuzz-sg'], host: ['fuzz-host'], hosts: ['fuzz-host'], isolatedHosts: ['fuzz-host'], isolatedImages: ['fuzz-image'],
  aggregate: ['fuzz-agg'], project: ['fuzz-tenant', 'fuzz-other'], user: ['fuzz-member', 'fuzz-other-user'], role: ['member', 'reader', 'admin'],
  ref: ['fuzz.small', 'fuzz-image', 'fuzz-net', 'fuzz-az', 'fuzz-agg', 'fuzz-group', 'fuzz-sg', 'fuzz-host'],
  cidr: ['10.78.0.0/24', '10.77.0.0/24', 'fd00:78::/64', '10.0.0.0/8'], remoteCidr: ['0.0.0.0/0', '10.0.0.0/8', '::/0'],
  destination: ['192.168.0.0/16'], nexthop: ['10.77.0.1'], dnsServers: ['1.1.1.1', '2001:4860:4860::8888'],
  ip: ['10.77.0.50', '10.78.0.9'], fixedIp: ['10.77.0.51', '10.77.0.1'], first: ['10.78.0.10'], last: ['10.78.0.20'], gatewayIp: ['10.78.0.1'],
  direction: ['ingress', 'egress'], protocol: ['tcp', 'udp', 'icmp', 'any'], ethertype: ['IPv4', 'IPv6'],
  diskFormat: ['qcow2', 'raw'], visibility: ['public', 'private', 'shared', 'community'],
  resource: ['instances', 'cores', 'ram', 'server_groups', 'server_group_members', 'key_pairs', 'metadata_items'],
  filters: ['ComputeFilter', 'AvailabilityZoneFilter', 'ServerGroupAntiAffinityFilter'], status: ['ACTIVE', 'SHUTOFF', 'BUILD'],
  name: ['fuzz-new', 'fuzz-vm', 'fuzz.small'], stack: ['fuzz-stack'], mac: ['52:54:00:00:00:01'], hypervisorType: ['fake'],
  architecture: ['x86_64'], tags: ['a', 'b'], key: ['k'], value: ['v'], checksum: ['0'.repeat(64)], powerState: ['running', 'shutdown'],
  providerBridge: ['br-fuzz'], migrationUri: ['qemu+tcp://10.0.0.2/system'], tunnelAddress: ['10.0.0.2'],
};

const FIELD_INTS: Record<string, number[]> = {
  vcpus: [1, 2], ramMb: [64, 512], diskGb: [1, 10], memoryMb: [4096], ephemeralGb: [0, 1], swapMb: [0, 64], minDiskGb: [0, 1], minRamMb: [0, 64],
  mtu: [1400, 1500], limit: [-1, 0, 10], portMin: [22, 80], portMax: [22, 443], maxServerPerHost: [1, 2], observedGeneration: [0, 1],
  lines: [10], expiresInSeconds: [60], candidateLimit: [10], hostSubsetSize: [1], maxInstancesPerHost: [50], maxIoOpsPerHost: [8], count: [1, 2],
};

type Principal = 'admin' | 'member';
interface Tally { sent: number; accepted: number; refused: number }
const tally: Record<Principal, Tally> = { admin: { sent: 0, accepted: 0, refused: 0 }, member: { sent: 0, accepted: 0, refused: 0 } };

let tcp: TestControlPlane;
/** Mutations some input of which was accepted: how far past validation the fuzz reached. */
const reached = new Set<string>();
/** Accepted calls the fingerprint saw write: it does see writes. */
let wrote = 0;
let clients: Record<Principal, OrreryClient>;

/** A setup call that must succeed. */
async function ok(client: OrreryClient, query: string, variables: Record<string, unknown> = {}): Promise<void> {
  const d = await client.request(query, variables);
  const r = Object.values(d)[0] as { __typename: string; message?: string };
  if (!r.__typename.endsWith('Success')) throw new Error(`${query}: ${r.__typename} ${r.message}`);
}
const RESULT = '{ __typename ... on Error { message } }';

beforeAll(async () => {
  // No worker: nothing writes but the calls themselves. No mutation budget: the fuzz is a flood.
  tcp = await startTestControlPlane({ worker: false, config: { mutationsPerSecond: 0 } });
  const member = await tcp.userClient('fuzz-tenant', 'fuzz-member', ['member']);
  clients = { admin: tcp.admin, member: member.client };
  const { admin } = clients;
  const enrollment = new OrreryClient(tcp.url, await enrollmentToken(admin));
  const inventory = { hypervisorType: 'fake', hypervisorVersion: '1', architecture: 'x86_64', cpuModel: 'fake', cpuFeatures: [], vcpus: 8, memoryMb: 16384, diskGb: 200 };
  await ok(enrollment, `mutation($i: HostInventoryInput!) { r: enrollHost(name: "fuzz-host", inventory: $i) ${RESULT} }`, { i: inventory });
  await enrollment.close();
  await createFlavor(admin, 'fuzz.small', 1, 64, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'fuzz-image');
  await ok(admin, `mutation { r: createNetwork(input: {name: "fuzz-net", shared: true}) ${RESULT} }`);
  await ok(admin, `mutation { r: createSubnet(input: {network: "fuzz-net", cidr: "10.77.0.0/24"}) ${RESULT} }`);
  await ok(admin, `mutation { r: createAvailabilityZone(input: {name: "fuzz-az"}) ${RESULT} }`);
  await ok(admin, `mutation { r: createAggregate(input: {name: "fuzz-agg", hosts: ["fuzz-host"]}) ${RESULT} }`);
  await ok(admin, `mutation { r: createProject(input: {name: "fuzz-other"}) ${RESULT} }`);
  await ok(admin, `mutation { r: createUser(input: {name: "fuzz-other-user", project: "fuzz-other", roles: ["reader"]}) ${RESULT} }`);
  for (const c of [admin, member.client]) {
    await ok(c, `mutation { r: createSecurityGroup(input: {name: "fuzz-sg"}) ${RESULT} }`);
    await ok(c, `mutation { r: createKeyPair(input: {name: "fuzz-key"}) ${RESULT} }`);
    await ok(c, `mutation { r: createServerGroup(input: {name: "fuzz-group", policy: anti_affinity}) ${RESULT} }`);
    await ok(c, `mutation { r: createInstance(input: {name: "fuzz-vm", flavor: "fuzz.small", image: "fuzz-image", networks: [{network: "fuzz-net"}]}) ${RESULT} }`);
    await ok(c, `mutation { r: createPort(input: {network: "fuzz-net"}) ${RESULT} }`);
  }
});

afterAll(async () => {
  await tcp?.stop();
});

/** Names and IDs of what exists now (a few per table), so later inputs reach what earlier ones made. */
async function plausible(): Promise<Plausible> {
  const { sql } = tcp.db;
  const cols = await sql<{ t: string; c: string }[]>`
    select table_name as t, column_name as c from information_schema.columns
     where table_schema = 'public' and ((column_name = 'name' and data_type = 'text') or (column_name = 'id' and data_type = 'uuid'))
       and table_name not in ('projects', 'users')`; // the admin's own project and user stay out of reach
  const part = (c: { t: string; c: string }) => sql`(select ${sql(c.c)}::text as v from ${sql(c.t)} order by 1 limit 12)`;
  const values = async (c: string) => {
    const parts = cols.filter((x) => x.c === c).map(part);
    const rows = await parts.reduce((all, one) => sql`${all} union ${one}`);
    return (rows as unknown as { v: string }[]).map((r) => r.v).filter((v) => v !== null);
  };
  return { names: await values('name'), ids: await values('id'), forField: (f) => FIELD_VALUES[f] ?? [], intsForField: (f) => FIELD_INTS[f] ?? [] };
}

function selectionFor(m: GraphQLField<unknown, unknown>): string {
  const t = getNamedType(m.type);
  if (isUnionType(t)) return RESULT;
  return isObjectType(t) ? '{ __typename }' : '';
}

/** What one call showed: refused or not, and what is wrong with its answer, if anything. */
async function send(client: OrreryClient, query: string, variables: Record<string, unknown>): Promise<{ refused: boolean; problem?: string }> {
  try {
    const d = await client.request(query, variables);
    const typename = (d.r as { __typename?: string } | null)?.__typename;
    return { refused: typename?.endsWith('Error') ?? false };
  } catch (e) {
    if (!(e instanceof GraphqlRequestError)) return { refused: true, problem: `no answer: ${String(e)}` };
    const internal = e.errors.find((x) => x.extensions?.code === 'INTERNAL_SERVER_ERROR' || /internal error/i.test(x.message));
    if (internal) return { refused: true, problem: `internal error: ${JSON.stringify(internal)}` };
    if (e.status >= 500) return { refused: true, problem: `HTTP ${e.status}: ${e.message}` };
    return { refused: true };
  }
}

/** Every mutation, the deleting and revoking ones last (so the others find what the fixtures made). */
function mutations(): GraphQLField<unknown, unknown>[] {
  const all = Object.values(schema.getMutationType()!.getFields());
  const last = (m: GraphQLField<unknown, unknown>) => /^(delete|revoke|forget|remove)/.test(m.name);
  return [...all.filter((m) => !last(m)), ...all.filter(last)];
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

describe('every mutation, fuzzed', () => {
  it('never fails internally, and writes nothing when it refuses', { timeout: 600_000 }, async () => {
    console.log(`mutation fuzz: seed ${SEED}, ${RUNS} runs per mutation and principal (ORRERY_FUZZ_SEED, ORRERY_FUZZ_RUNS)`);
    const started = Date.now();
    const failures: string[] = [];
    let current = await world(tcp.db.sql);
    const list = mutations();
    for (const [i, m] of list.entries()) {
      const query = mutationDocument(m, selectionFor(m));
      for (const who of ['member', 'admin'] as const) {
        const property = fc.asyncProperty(argumentValues(m, await plausible()), async (vars) => {
          tally[who].sent++;
          const r = await send(clients[who], query, vars);
          const after = await world(tcp.db.sql);
          const changed = changedTables(current, after);
          current = after;
          tally[who][r.refused ? 'refused' : 'accepted']++;
          if (!r.refused) reached.add(m.name);
          if (!r.refused && changed.length) wrote++;
          if (r.problem) throw new Error(r.problem);
          if (r.refused && changed.length) throw new Error(`refused, yet wrote to ${changed.join(', ')}`);
        });
        const details = await fc.check(property, { seed: SEED + i, numRuns: RUNS });
        if (details.failed) {
          failures.push(`${m.name} as ${who}: ${(details.errorInstance as Error | undefined)?.message} with ${short(details.counterexample?.[0])}`);
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const total = tally.admin.sent + tally.member.sent;
    console.log(`mutation fuzz: ${list.length} mutations, ${total} inputs in ${seconds} s; ` +
      `admin ${JSON.stringify(tally.admin)}, member ${JSON.stringify(tally.member)}; ${reached.size} mutations accepted some input`);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(list.length * 2 * RUNS);
    // The fuzz reached past validation: some calls of each principal were accepted (and wrote).
    expect(tally.admin.accepted).toBeGreaterThan(0);
    expect(tally.member.accepted).toBeGreaterThan(0);
    expect(wrote).toBeGreaterThan(0);
  });
});
