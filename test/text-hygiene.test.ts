import { getIntrospectionQuery, type IntrospectionInputTypeRef, type IntrospectionQuery, type IntrospectionType, type IntrospectionTypeRef } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { reportableConsoleText, MAX_CONSOLE_BYTES } from '../core/text.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';
import { world } from './support/world.ts';
import { rootLog } from '../core/log.ts';
import { AgentApi, type Assignments } from '../hostagent/api.ts';
import { ConsoleReporter } from '../hostagent/console-reporter.ts';
import type { HypervisorDriver } from '../hostagent/drivers/driver.ts';

let tcp: TestControlPlane;
let host: OrreryClient;
let enrollment: OrreryClient;
let types: Map<string, IntrospectionType>;
let mutations: IntrospectionQuery['__schema']['types'][number] & { kind: 'OBJECT' };

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  enrollment = new OrreryClient(tcp.url, await enrollmentToken(tcp.admin));
  const inv = { hypervisorType: 'fake', hypervisorVersion: '1', architecture: 'x86_64', cpuModel: 'fake', cpuFeatures: [], vcpus: 4, memoryMb: 4096, diskGb: 40 };
  const d = await enrollment.request(
    `mutation($inv: HostInventoryInput!) { enrollHost(name: "hygiene-host", inventory: $inv) { ... on EnrollHostSuccess { enrollment { token } } } }`,
    { inv },
  );
  host = new OrreryClient(tcp.url, d.enrollHost.enrollment.token);
  const schema = (await tcp.admin.request<IntrospectionQuery>(getIntrospectionQuery()));
  types = new Map(schema.__schema.types.map((t) => [t.name, t]));
  mutations = types.get(schema.__schema.mutationType!.name) as typeof mutations;
});
afterAll(async () => {
  await host?.close();
  await enrollment?.close();
  await tcp?.stop();
});

const TEXT = new Set(['String', 'ID', 'JSON']);
const SAMPLE: Record<string, unknown> = {
  String: 'x', ID: '00000000-0000-4000-8000-000000000000', Int: 1, Float: 1, Boolean: false, DateTime: '2030-01-01T00:00:00Z', JSON: 'x',
};

/** One step into an argument: an input object's field, or a list's first item. */
type Step = string | 0;

/** A valid value of `ref` that fills only what is required, with NUL at `target` (a path below it) when given. */
function sample(ref: IntrospectionInputTypeRef, target: Step[] | null): unknown {
  if (ref.kind === 'NON_NULL') return sample(ref.ofType, target);
  if (ref.kind === 'LIST') return target ? [sample(ref.ofType, target.slice(1))] : [];
  const t = types.get(ref.name)!;
  if (t.kind === 'SCALAR') return target ? (ref.name === 'JSON' ? { note: 'a\u0000b' } : 'a\u0000b') : SAMPLE[ref.name];
  if (t.kind === 'ENUM') return t.enumValues[0]!.name;
  if (t.kind !== 'INPUT_OBJECT') throw new Error(`not an input type: ${ref.name}`);
  const out: Record<string, unknown> = {};
  for (const f of t.inputFields) {
    const here = target?.[0] === f.name;
    if (here) out[f.name] = sample(f.type, target!.slice(1));
    else if (f.type.kind === 'NON_NULL' && f.defaultValue === null) out[f.name] = sample(f.type, null);
  }
  return out;
}

/** Every path from `ref` to a String, ID or JSON leaf (input types nest at most a few levels here). */
function textPaths(ref: IntrospectionInputTypeRef, depth = 0): { path: Step[]; leaf: string }[] {
  if (ref.kind === 'NON_NULL') return textPaths(ref.ofType, depth);
  if (ref.kind === 'LIST') return textPaths(ref.ofType, depth).map((p) => ({ ...p, path: [0 as Step, ...p.path] }));
  if (TEXT.has(ref.name)) return [{ path: [], leaf: ref.name }];
  const t = types.get(ref.name)!;
  if (t.kind !== 'INPUT_OBJECT' || depth > 5) return [];
  return t.inputFields.flatMap((f) => textPaths(f.type, depth + 1).map((p) => ({ ...p, path: [f.name, ...p.path] })));
}

function typeText(ref: IntrospectionTypeRef): string {
  if (ref.kind === 'NON_NULL') return `${typeText(ref.ofType)}!`;
  if (ref.kind === 'LIST') return `[${typeText(ref.ofType)}]`;
  return ref.name;
}

function fieldName(arg: string, path: Step[]): string {
  return arg + path.map((s) => (s === 0 ? '[0]' : `.${s}`)).join('');
}

/** The mutation's answer to NUL at that path: the ValidationError's field, or the BAD_USER_INPUT error's. */
async function sendNul(m: (typeof mutations)['fields'][number], arg: string, path: Step[]): Promise<{ field: unknown; by: string } | { other: unknown }> {
  const vars: Record<string, unknown> = {};
  for (const a of m.args) {
    if (a.name === arg) vars[a.name] = sample(a.type, path);
    else if (a.type.kind === 'NON_NULL' && a.defaultValue === null) vars[a.name] = sample(a.type, null);
  }
  const decl = m.args.filter((a) => a.name in vars).map((a) => `$${a.name}: ${typeText(a.type)}`).join(', ');
  const call = m.args.filter((a) => a.name in vars).map((a) => `${a.name}: $${a.name}`).join(', ');
  let returns = m.type;
  while (returns.kind === 'NON_NULL' || returns.kind === 'LIST') returns = returns.ofType;
  const selection = returns.kind === 'UNION' ? '{ __typename ... on ValidationError { field } }' : returns.kind === 'SCALAR' || returns.kind === 'ENUM' ? '' : '{ __typename }';
  const query = `mutation${decl ? `(${decl})` : ''} { r: ${m.name}${call ? `(${call})` : ''} ${selection} }`;
  let last: unknown;
  for (const [by, client] of [['admin', tcp.admin], ['host', host], ['enrollment', enrollment]] as const) {
    try {
      const d = await client.request(query, vars);
      if (d.r?.__typename === 'ValidationError') return { field: d.r.field, by };
      return { other: d.r };
    } catch (e) {
      if (!(e instanceof GraphqlRequestError)) throw e;
      const ext = e.errors[0]?.extensions ?? {};
      if (ext.code === 'BAD_USER_INPUT' && 'field' in ext) return { field: ext.field, by };
      last = e.errors;
      if (ext.code !== 'FORBIDDEN' && ext.code !== 'UNAUTHENTICATED') break; // refused for another reason: report it
    }
  }
  return { other: last };
}

describe('a NUL in any string of any mutation', () => {
  it('is a ValidationError naming that field, and nothing is written', async () => {
    const before = await world(tcp.db.sql);
    const wrong: string[] = [];
    let sent = 0;
    for (const m of mutations.fields) {
      for (const a of m.args) {
        for (const { path, leaf } of textPaths(a.type)) {
          // A JSON value is sent as {note: "a\u0000b"}: the offending string is its `note`.
          const expected = fieldName(a.name, path) + (leaf === 'JSON' ? '.note' : '');
          const r = await sendNul(m, a.name, path);
          sent++;
          if (!('field' in r) || r.field !== expected) wrong.push(`${m.name}(${expected}): ${JSON.stringify(r)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(150);
    expect(await world(tcp.db.sql)).toEqual(before);
  });

  it('answers the issue\'s example typed, where it was an INTERNAL_SERVER_ERROR from PostgreSQL', async () => {
    const d = await tcp.admin.request(
      `mutation { createAvailabilityZone(input: {name: "az-nul", description: "\\u0000"}) { __typename ... on ValidationError { field issues { field message } } } }`,
    );
    expect(d.createAvailabilityZone).toEqual({
      __typename: 'ValidationError', field: 'input.description',
      issues: [{ field: 'input.description', message: 'must not contain the NUL character (U+0000)' }],
    });
    expect(await tcp.db.sql`select 1 from availability_zones where name = 'az-nul'`).toHaveLength(0);
  });
});

describe('other text a database cannot take', () => {
  it('refuses a lone surrogate and an over-long string, naming the field', async () => {
    const zone = (description: string) => tcp.admin.request(
      `mutation($i: AvailabilityZoneInput!) { createAvailabilityZone(input: $i) { __typename ... on ValidationError { field issues { message } } } }`,
      { i: { name: 'az-odd', description } },
    );
    expect((await zone('a\uD800b')).createAvailabilityZone).toEqual({
      __typename: 'ValidationError', field: 'input.description', issues: [{ message: 'must not contain a lone surrogate (U+D800 to U+DFFF is no character)' }],
    });
    expect((await zone('x'.repeat(65_537))).createAvailabilityZone.issues).toEqual([{ message: 'is 65537 characters long, more than 65536' }]);
    expect(await tcp.db.sql`select 1 from availability_zones where name = 'az-odd'`).toHaveLength(0);
  });

  it('puts names in Unicode NFC, so the same-looking name is the same name', async () => {
    const create = (name: string) => tcp.admin.request(
      `mutation($i: AvailabilityZoneInput!) { createAvailabilityZone(input: $i) { __typename ... on Error { message } } }`,
      { i: { name } },
    );
    expect((await create('zone-caf\u00e9')).createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    // "e" + combining acute accent: another spelling of the same name.
    expect((await create('zone-cafe\u0301')).createAvailabilityZone).toEqual({
      __typename: 'ConflictError', message: 'an availability zone named "zone-café" already exists',
    });
    const d = await tcp.admin.request(`query($r: String!) { availabilityZone(ref: $r) { name } }`, { r: 'zone-cafe\u0301' });
    expect(d.availabilityZone).toEqual({ name: 'zone-caf\u00e9' });
  });

  it('refuses a NUL in a query argument as bad input, not an internal error', async () => {
    const e = (await tcp.admin.request(`{ availabilityZone(ref: "a\\u0000") { name } }`).catch((x: unknown) => x)) as GraphqlRequestError;
    expect(e.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ref' });
  });
});

describe("the agent's console report", () => {
  it('drops NUL bytes and keeps the tail within what the API stores', () => {
    expect(reportableConsoleText('boot\u0000\u0000 ok\n')).toBe('boot ok\n');
    const long = reportableConsoleText('é'.repeat(MAX_CONSOLE_BYTES));
    expect(Buffer.byteLength(long)).toBe(MAX_CONSOLE_BYTES);
    expect(long).toBe('é'.repeat(MAX_CONSOLE_BYTES / 2));
  });

  it("reaches consoleOutput, NULs dropped, when a guest's console prints them", async () => {
    await createFlavor(tcp.admin, 'hygiene.tiny', 1, 64, 1);
    await seedImage(tcp.db.sql, tcp.adminProjectId, 'hygiene-image');
    const inst = await createInstance(tcp.admin, { name: 'hygiene-vm', flavor: 'hygiene.tiny', image: 'hygiene-image' });
    // Bound by hand: no worker runs here, and the report path is all this test is about.
    await tcp.db.sql`update instances set host_id = (select id from hosts where name = 'hygiene-host') where id = ${inst.instance.id}`;
    const driver = { consoleOutput: async () => 'SeaBIOS\u0000\u0000 booting\nlogin: ' } as unknown as HypervisorDriver;
    const api = new AgentApi(tcp.url, host.token);
    await new ConsoleReporter(driver, rootLog()).push(api, { instances: [{ id: inst.instance.id, deleted: false }] } as unknown as Assignments);
    await api.close();
    const d = await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 10) { output } }`, { id: inst.instance.id });
    expect(d.consoleOutput.output).toBe('SeaBIOS booting\nlogin: ');
  });
});
