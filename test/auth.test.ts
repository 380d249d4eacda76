import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLObjectType } from 'graphql';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { Policy } from '../policies/policy.ts';
import { schema } from '../schema/index.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.tiny', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'auth-a' }, { name: 'auth-b' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

async function refused(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GraphqlRequestError) return e.code;
    throw e;
  }
  return undefined;
}

const count = async (table: 'instances' | 'flavors' | 'hosts') =>
  (await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from ${tcp.db.sql(table)}`)[0]!.n;

describe('authentication', () => {
  it('refuses requests without a token or with a wrong one', async () => {
    const anon = new OrreryClient(tcp.url, '');
    expect(await refused(anon.request('{ whoami { kind } }'))).toBe('UNAUTHENTICATED');
    const wrong = new OrreryClient(tcp.url, 'orr_u_not-a-real-token');
    expect(await refused(wrong.request('{ flavors { name } }'))).toBe('UNAUTHENTICATED');
  });
});

describe('policy', () => {
  it('lets a reader read but not write', async () => {
    const { client } = await userClientWith('alpha', 'alice-reader', ['reader']);
    const d = await client.request('{ flavors { name } }');
    expect(d.flavors.map((f: { name: string }) => f.name)).toContain('m1.tiny');
    const before = await count('instances');
    expect(await refused(createInstance(client, { name: 'nope', flavor: 'm1.tiny', image: 'test-image' }))).toBe('FORBIDDEN');
    expect(await count('instances')).toBe(before);
  });

  it('lets a member create instances but not do admin operations', async () => {
    const { client } = await userClientWith('alpha', 'amy-member', ['member']);
    const before = await count('flavors');
    expect(await refused(client.request('mutation { createFlavor(input: {name: "x", vcpus: 1, ramMb: 1, diskGb: 1}) { __typename } }'))).toBe('FORBIDDEN');
    expect(await count('flavors')).toBe(before);
    expect(await refused(client.request('mutation { updateHost(ref: "auth-a", input: {enabled: false}) { __typename } }'))).toBe('FORBIDDEN');
    const [h] = await tcp.db.sql<{ enabled: boolean }[]>`select enabled from hosts where name = 'auth-a'`;
    expect(h!.enabled).toBe(true);
    expect(await refused(client.request('{ hosts { edges { node { name } } } }'))).toBe('FORBIDDEN');
  });

  it('keeps each project to its own instances', async () => {
    const a = await userClientWith('alpha', 'amy-member', ['member']);
    const b = await userClientWith('beta', 'bob-member', ['member']);
    const made = await createInstance(a.client, { name: 'alpha-vm', flavor: 'm1.tiny', image: 'test-image' });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    const id = made.instance.id;
    const listB = await b.client.request('{ instances { edges { node { id } } } }');
    expect(listB.instances.edges).toEqual([]);
    expect((await b.client.request('query($id: ID!) { instance(id: $id) { id } }', { id })).instance).toBeNull();
    const del = await b.client.request(`mutation($id: ID!) { deleteInstance(id: $id) { __typename ... on NotFoundError { field } } }`, { id });
    expect(del.deleteInstance).toEqual({ __typename: 'NotFoundError', field: 'id' });
    expect((await instanceRow(tcp.db.sql, id))!.task_state).not.toBe('deleting');
    expect(await refused(b.client.request('{ instances(allProjects: true) { edges { node { id } } } }'))).toBe('FORBIDDEN');
  });

  it('lets an admin list every project only when asked', async () => {
    const own = await tcp.admin.request('{ instances { edges { node { name } } } }');
    expect(own.instances.edges.map((e: { node: { name: string } }) => e.node.name)).not.toContain('alpha-vm');
    const all = await tcp.admin.request('{ instances(allProjects: true) { edges { node { name } } } }');
    expect(all.instances.edges.map((e: { node: { name: string } }) => e.node.name)).toContain('alpha-vm');
  });

  it('lets an agent report only for instances bound to its own host', async () => {
    const a = await userClientWith('alpha', 'amy-member', ['member']);
    const made = await createInstance(a.client, { name: 'bound-vm', flavor: 'm1.tiny', image: 'test-image' });
    const id = made.instance.id;
    const row = await waitFor('instance ACTIVE', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active');
    const [{ name: boundHost }] = (await tcp.db.sql<{ name: string }[]>`select name from hosts where id = ${row!.host_id}`) as unknown as [{ name: string }];
    const other = hosts.find((h) => h.name !== boundHost)!;
    const api = (other.agent as unknown as { api: { reportInstances: (r: unknown[]) => Promise<{ accepted: string[]; rejected: string[] }> } }).api;
    const res = await api.reportInstances([{ id, observedGeneration: 99, powerState: 'crashed' }]);
    expect(res).toEqual({ accepted: [], rejected: [id] });
    const after = await instanceRow(tcp.db.sql, id);
    expect([after!.power_state, after!.observed_generation]).toEqual(['running', row!.observed_generation]);
    // A host credential is not a user: it cannot read the tenant API at all.
    const hostClient = (api as unknown as { client: OrreryClient }).client;
    expect(await refused(hostClient.request('{ instances { edges { node { id } } } }'))).toBe('FORBIDDEN');
  });
});

describe('schema', () => {
  it('guards every query, mutation and subscription with a policy rule that exists', () => {
    const policy = Policy.load();
    const missing: string[] = [];
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values((type as GraphQLObjectType).getFields())) {
        const rule = (field.extensions?.pothosOptions as { authScopes?: { policy?: string } } | undefined)?.authScopes?.policy;
        if (!rule || !policy.has(rule)) missing.push(`${type!.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

const userClients = new Map<string, Awaited<ReturnType<TestControlPlane['userClient']>>>();
async function userClientWith(project: string, user: string, roles: ('reader' | 'member' | 'admin')[]) {
  const key = `${project}/${user}`;
  if (!userClients.has(key)) userClients.set(key, await tcp.userClient(project, user, roles));
  return userClients.get(key)!;
}
