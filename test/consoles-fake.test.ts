import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { ConsoleClose } from '../core/console-close.ts';
import { cleanUpConsoleTokens } from '../store/console-tokens.ts';
import { issueToken } from '../store/tokens.ts';
import { ConsoleSocket, rfbHandshake } from './support/console-socket.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

const TTL = 120;
// Long enough for a busy CI box's agent to dial back (a 3 s wait lost sessions under load);
// the one test of a host that never dials waits it out.
const DIAL = 10;

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let member: { client: OrreryClient; projectId: string; userId: string };
let stranger: { client: OrreryClient; projectId: string; userId: string };

beforeAll(async () => {
  tcp = await startTestControlPlane({ config: { consoleTokenTtlSeconds: TTL, consoleHostDialSeconds: DIAL } });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'cs-a', driver: { failConsole: /^no-console/ } }, { name: 'cs-b' }, { name: 'cs-c' }]);
  member = await tcp.userClient('cs-project', 'cs-member', ['member']);
  stranger = await tcp.userClient('cs-other', 'cs-stranger', ['member']);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const hostId = async (name: string) => (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = ${name}`)[0]!.id;
const driverOf = (name: string) => hosts.find((h) => h.name === name)!.driver;
const sha256 = (s: string) => createHash('sha256').update(s).digest();
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
const tokenRow = async (url: string) =>
  (await tcp.db.sql<{ id: string; instance_id: string; host_id: string; project_id: string; kind: string; created_by: string;
    expires_at: Date; used_at: Date | null; host_connected_at: Date | null; ended_at: Date | null; end_reason: string | null; api_process: string | null }[]>`
    select id, instance_id, host_id, project_id, kind, created_by, expires_at, used_at, host_connected_at, ended_at, end_reason, api_process
      from console_tokens where token_hash = ${sha256(tokenOf(url))}`)[0];

async function createConsole(client: OrreryClient, instance: string, type: string) {
  const d = await client.request(
    `mutation($i: ID!, $t: ConsoleType!) { createConsole(instance: $i, type: $t) { __typename
       ... on CreateConsoleSuccess { console { type url expiresAt } }
       ... on NotFoundError { message field } ... on ConflictError { message currentState } ... on Error { message } } }`,
    { i: instance, t: type },
  );
  return d.createConsole;
}

async function consoleUrl(client: OrreryClient, instance: string, type: 'VNC' | 'SERIAL'): Promise<string> {
  const r = await createConsole(client, instance, type);
  expect(r.__typename).toBe('CreateConsoleSuccess');
  return r.console.url;
}

/** An instance of the member's project, ACTIVE on `host` (the others kept out of placement meanwhile). */
async function activeOn(host: string, name: string): Promise<string> {
  await tcp.db.sql`update hosts set enabled = (name = ${host}) where name like 'cs-%'`;
  const made = await createInstance(member.client, { name, flavor: 'm1.small', image: 'test-image' });
  expect(made.__typename).toBe('CreateInstanceSuccess');
  const h = await hostId(host);
  await waitFor(`active on ${host}`, () => instanceRow(tcp.db.sql, made.instance.id),
    (r) => r?.vm_state === 'active' && r.power_state === 'running' && r.host_id === h);
  await tcp.db.sql`update hosts set enabled = true where name like 'cs-%'`;
  return made.instance.id;
}

describe('consoles through the proxy, on fake hosts', () => {
  let id = '';
  beforeAll(async () => {
    id = await activeOn('cs-a', 'screen');
  });

  it('issues a VNC URL whose token is stored only hashed, then relays a whole RFB handshake from the host', async () => {
    const before = Date.now();
    const r = await createConsole(member.client, id, 'VNC');
    expect(r.__typename).toBe('CreateConsoleSuccess');
    const url: string = r.console.url;
    expect(r.console.type).toBe('VNC');
    expect(url).toMatch(new RegExp(`^${tcp.url.replace('http', 'ws')}/consoles/websocket\\?token=orr_c_[A-Za-z0-9_-]{43}$`));
    const expires = new Date(r.console.expiresAt).getTime();
    expect(expires - before).toBeGreaterThan((TTL - 5) * 1000);
    expect(expires - before).toBeLessThan((TTL + 5) * 1000);
    const row = await tokenRow(url);
    expect(row).toMatchObject({ instance_id: id, host_id: await hostId('cs-a'), project_id: member.projectId, kind: 'vnc',
      created_by: member.userId, used_at: null, host_connected_at: null });
    const [{ plain }] = await tcp.db.sql`select count(*)::int as plain from console_tokens t where to_jsonb(t)::text like ${'%' + tokenOf(url) + '%'}`;
    expect(plain).toBe(0);

    const s = await ConsoleSocket.open(url, { protocols: ['binary'] });
    expect(s.ws.protocol).toBe('binary');
    const rfb = await rfbHandshake(s);
    expect(rfb).toMatchObject({ serverVersion: 'RFB 003.008\n', securityTypes: [1], width: 16, height: 8, bitsPerPixel: 32, name: 'orrery-fake' });
    expect(rfb.rects).toEqual([{ x: 0, y: 0, w: 16, h: 8, encoding: 0, bytes: 512 }]);
    expect(driverOf('cs-a').consolesOpened).toContainEqual({ id, kind: 'vnc' });
    const used = await tokenRow(url);
    expect(used!.used_at).not.toBeNull();
    expect(used!.host_connected_at).not.toBeNull();
    expect(used!.api_process).toMatch(/^[0-9a-f-]{36}$/);
    expect(await s.close()).toMatchObject({ code: 1000 });
    const ended = await waitFor('session ended', () => tokenRow(url), (t) => t?.ended_at != null);
    expect(ended!.end_reason).toMatch(/^client closed \(1000\)/);
  });

  it('relays a serial session both ways: what the client types reaches the guest and its answer comes back', async () => {
    const url = await consoleUrl(member.client, id, 'SERIAL');
    expect((await tokenRow(url))!.kind).toBe('serial');
    const s = await ConsoleSocket.open(url);
    // Typed before the host has dialled back: kept and delivered first.
    s.send('echo $((6*7))\n');
    expect(await s.text(/echo \$\(\(6\*7\)\)\n/)).toBe('echo $((6*7))\n');
    s.send('second line\n');
    await s.text(/second line\n$/);
    expect(driverOf('cs-a').consolesOpened).toContainEqual({ id, kind: 'serial' });
    await s.close();
  });

  it('refuses a used token, an expired one, an unknown one and a URL without one, each with its close code', async () => {
    const url = await consoleUrl(member.client, id, 'SERIAL');
    const first = await ConsoleSocket.open(url);
    first.send('x');
    await first.text(/x/);
    expect(await ConsoleSocket.refusal(url)).toEqual({ code: ConsoleClose.gone, reason: 'the console token was already used' });
    await first.close();

    const stale = await consoleUrl(member.client, id, 'VNC');
    await tcp.db.sql`update console_tokens set expires_at = now() - interval '1 second' where token_hash = ${sha256(tokenOf(stale))}`;
    expect(await ConsoleSocket.refusal(stale)).toEqual({ code: ConsoleClose.gone, reason: 'the console token has expired' });
    expect((await tokenRow(stale))!.used_at).toBeNull();

    const base = url.slice(0, url.indexOf('?'));
    expect(await ConsoleSocket.refusal(`${base}?token=orr_c_${'A'.repeat(43)}`)).toEqual({ code: ConsoleClose.unknown, reason: 'unknown console token' });
    expect(await ConsoleSocket.refusal(base)).toEqual({ code: ConsoleClose.badRequest, reason: 'the console URL needs its token' });
  });

  it("refuses another project's caller without using the token up, which its own project then uses", async () => {
    const url = await consoleUrl(member.client, id, 'SERIAL');
    expect(await ConsoleSocket.refusal(url, { token: stranger.client.token }))
      .toEqual({ code: ConsoleClose.forbidden, reason: 'the console token belongs to another project' });
    expect((await tokenRow(url))!.used_at).toBeNull();
    expect(await ConsoleSocket.refusal(url, { token: 'orr_u_not-a-token' })).toMatchObject({ code: ConsoleClose.unauthenticated });
    const s = await ConsoleSocket.open(url, { token: member.client.token });
    s.send('mine\n');
    await s.text(/mine\n/);
    await s.close();
  });

  it("checks the policy and the project: a reader, a host and another project get nothing, and nothing is written", async () => {
    const count = async () => (await tcp.db.sql`select 1 from console_tokens where instance_id = ${id}`).length;
    const n = await count();
    const reader = await tcp.userClient('cs-project', 'cs-reader', ['reader']);
    await expect(createConsole(reader.client, id, 'VNC')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const hostToken = await issueToken(tcp.db.sql, { kind: 'host', hostId: await hostId('cs-a') });
    const { OrreryClient } = await import('../client/graphql.ts');
    const host = new OrreryClient(tcp.url, hostToken.secret);
    await expect(createConsole(host, id, 'VNC')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await createConsole(stranger.client, id, 'VNC')).toMatchObject({ __typename: 'NotFoundError', field: 'instance' });
    expect(await createConsole(member.client, 'not-an-id', 'SERIAL')).toMatchObject({ __typename: 'NotFoundError', field: 'instance' });
    await expect(createConsole(member.client, id, 'SPICE')).rejects.toThrow(/ConsoleType/);
    // An admin reaches any project's instance; the token is the instance's project's.
    const adminUrl = await consoleUrl(tcp.admin, id, 'VNC');
    expect((await tokenRow(adminUrl))!.project_id).toBe(member.projectId);
    expect(await count()).toBe(n + 1);
  });

  it('refuses a stopped instance with a typed conflict, writing nothing', async () => {
    const off = await activeOn('cs-b', 'dark');
    expect((await updateInstance(member.client, off, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await waitFor('stopped', () => instanceRow(tcp.db.sql, off), (r) => r?.vm_state === 'stopped' && r.task_state === null);
    const r = await createConsole(member.client, off, 'SERIAL');
    expect(r.__typename).toBe('ConflictError');
    expect(r.message).toBe('instance dark is not running (power state shutdown), so it has no console');
    expect(r.currentState).toMatch(/power_state=shutdown/);
    expect((await tcp.db.sql`select 1 from console_tokens where instance_id = ${off}`).length).toBe(0);
  });

  it("passes on the host's refusal when it cannot open the guest's console", async () => {
    // A console the host cannot open (not a guest shut down behind everyone's back: the agent's
    // power sync would stop the instance, and the tests after this one use it).
    const broken = await activeOn('cs-a', 'no-console');
    const url = await consoleUrl(member.client, broken, 'VNC');
    const closed = await ConsoleSocket.refusal(url, { protocols: ['binary'] });
    expect(closed.code).toBe(ConsoleClose.hostFailed);
    expect(closed.reason).toMatch(/^the host cannot open the vnc console: fake driver cannot open the console of no-console/);
    expect(driverOf('cs-a').consolesOpened).not.toContainEqual({ id: broken, kind: 'vnc' });
    expect((await waitFor('ended', () => tokenRow(url), (t) => t?.ended_at != null))!.end_reason).toMatch(/^host closed \(4502\)/);
  });

  it('follows the instance: after a live migration an old token is refused and a new one reaches the new host', async () => {
    const old = await consoleUrl(member.client, id, 'SERIAL');
    const d = await tcp.admin.request(`mutation($id: ID!) { liveMigrateInstance(id: $id, host: "cs-b") { __typename ... on Error { message } } }`, { id });
    expect(d.liveMigrateInstance.__typename).toBe('LiveMigrateInstanceSuccess');
    const b = await hostId('cs-b');
    await waitFor('moved to cs-b', () => instanceRow(tcp.db.sql, id), (r) => r?.host_id === b && r.task_state === null && r.power_state === 'running');
    expect(await ConsoleSocket.refusal(old)).toEqual({
      code: ConsoleClose.moved, reason: 'the instance moved to another host since the token was issued; ask for a new console',
    });
    expect((await tokenRow(old))!.used_at).toBeNull();
    const opened = driverOf('cs-b').consolesOpened.length;
    const url = await consoleUrl(member.client, id, 'SERIAL');
    expect((await tokenRow(url))!.host_id).toBe(b);
    const s = await ConsoleSocket.open(url);
    s.send('on b\n');
    await s.text(/on b\n/);
    expect(driverOf('cs-b').consolesOpened.slice(opened)).toEqual([{ id, kind: 'serial' }]);
    await s.close();
  });

  it("refuses a host dialling back another host's session; the client gives up when its own host never dials", async () => {
    const silent = await activeOn('cs-c', 'lonely');
    await hosts.find((h) => h.name === 'cs-c')!.agent.stop();
    const url = await consoleUrl(member.client, silent, 'SERIAL');
    const client = await ConsoleSocket.open(url);
    const session = await waitFor('token used', () => tokenRow(url), (t) => t?.used_at != null);
    const otherHost = await issueToken(tcp.db.sql, { kind: 'host', hostId: await hostId('cs-a') });
    const dial = (session: string, token: string) => new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const ws = new WebSocket(`${tcp.url.replace('http', 'ws')}/consoles/host?session=${session}`, { headers: { authorization: `Bearer ${token}` } });
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.once('error', reject);
    });
    expect(await dial(session!.id, otherHost.secret)).toEqual({ code: ConsoleClose.forbidden, reason: 'the console session belongs to another host' });
    expect(await dial(session!.id, member.client.token)).toMatchObject({ code: ConsoleClose.forbidden });
    expect(await dial(session!.id, 'orr_h_nope')).toMatchObject({ code: ConsoleClose.unauthenticated });
    expect((await tokenRow(url))!.host_connected_at).toBeNull();
    expect(await client.closed).toEqual({ code: ConsoleClose.hostTimeout, reason: `the instance's host did not connect the console within ${DIAL} s` });
    const ended = await waitFor('session ended', () => tokenRow(url), (t) => t?.ended_at != null);
    expect([ended!.host_connected_at, ended!.end_reason]).toEqual([null, 'the host did not connect']);
  });

  it('cleans up tokens nobody can use any more, keeping live ones', async () => {
    const live = await consoleUrl(member.client, id, 'VNC');
    const expired = await consoleUrl(member.client, id, 'VNC');
    const over = await consoleUrl(member.client, id, 'VNC');
    await tcp.db.sql`update console_tokens set expires_at = now() - interval '1 second' where token_hash = ${sha256(tokenOf(expired))}`;
    await tcp.db.sql`update console_tokens set used_at = now() - interval '2 minutes', api_process = gen_random_uuid(),
                       ended_at = now() - interval '2 minutes' where token_hash = ${sha256(tokenOf(over))}`;
    expect(await cleanUpConsoleTokens(tcp.db.sql)).toBeGreaterThanOrEqual(2);
    expect(await tokenRow(expired)).toBeUndefined();
    expect(await tokenRow(over)).toBeUndefined();
    expect(await tokenRow(live)).toMatchObject({ used_at: null });
  });
});
