import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, instanceRow, seedImage, waitFor } from './support/fixtures.ts';
import { setPassword } from './support/openstack.ts';

// The facade's contract on the raw HTTP: statuses, headers and body shapes, route by route.
let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let admin: string;
let member: string;
let other: string;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function call(method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: Buffer } = {}): Promise<Answer> {
  const res = await fetch(`${tcp.url}${path}`, {
    method,
    headers: {
      ...(o.token ? { 'x-auth-token': o.token } : {}),
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.raw ? { 'content-type': 'application/octet-stream' } : {}),
      ...o.headers,
    },
    body: o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Files and empty answers stay text.
  }
  return { status: res.status, headers: res.headers, body };
}

async function login(user: string, password: string, project: string): Promise<Answer> {
  return call('POST', '/identity/v3/auth/tokens', { body: { auth: {
    identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
    scope: { project: { name: project, domain: { name: 'Default' } } },
  } } });
}

const compute = (method: string, path: string, token: string, body?: unknown, version = '2.79') =>
  call(method, `/compute/v2.1${path}`, { token, body, headers: { 'openstack-api-version': `compute ${version}` } });

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'http-a' }, { name: 'http-b' }]);
  await tcp.userClient('proj-m', 'mia', ['member']);
  await tcp.userClient('proj-o', 'otto', ['member']);
  await setPassword(tcp, 'admin', 'admin-password');
  await setPassword(tcp, 'mia', 'mia-password');
  await setPassword(tcp, 'otto', 'otto-password');
  admin = (await login('admin', 'admin-password', 'admin')).headers.get('x-subject-token')!;
  member = (await login('mia', 'mia-password', 'proj-m')).headers.get('x-subject-token')!;
  other = (await login('otto', 'otto-password', 'proj-o')).headers.get('x-subject-token')!;
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe('identity v3', () => {
  it('discovers, logs in with a password and answers with the catalog', async () => {
    const v = await call('GET', '/identity/v3');
    expect(v.status).toBe(200);
    expect(v.body.version).toMatchObject({ id: expect.stringMatching(/^v3\./), status: 'stable', links: [{ rel: 'self', href: `${tcp.url}/identity/v3/` }] });

    const r = await login('mia', 'mia-password', 'proj-m');
    expect(r.status).toBe(201);
    expect(r.headers.get('x-subject-token')).toMatch(/^orr_u_/);
    expect(r.headers.get('x-openstack-request-id')).toMatch(/^req-/);
    const t = r.body.token;
    expect(t).toMatchObject({ methods: ['password'], user: { name: 'mia', domain: { id: 'default' } }, project: { name: 'proj-m' } });
    expect(t.roles.map((x: { name: string }) => x.name).sort()).toEqual(['member', 'reader']);
    const urls = Object.fromEntries(t.catalog.map((s: { type: string; endpoints: { interface: string; url: string }[] }) =>
      [s.type, s.endpoints.find((e) => e.interface === 'public')!.url]));
    expect(urls).toEqual({ identity: `${tcp.url}/identity/v3`, compute: `${tcp.url}/compute/v2.1`, image: `${tcp.url}/image` });
    // A login token expires (a day, as Keystone's default) and is an ordinary Orrery token.
    const hours = (Date.parse(t.expires_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);
    const [row] = await tcp.db.sql`select kind, expires_at from tokens where secret_hash = ${createHash('sha256').update(r.headers.get('x-subject-token')!).digest()}`;
    expect(row).toMatchObject({ kind: 'user', expires_at: expect.any(Date) });
  });

  it('refuses a wrong password or a project without a role, and a malformed body', async () => {
    const wrong = await login('mia', 'nope-nope', 'proj-m');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 401, title: 'Unauthorized', message: expect.any(String) } });
    expect(wrong.headers.get('www-authenticate')).toContain('/identity/v3');
    expect((await login('mia', 'mia-password', 'proj-o')).status).toBe(401);
    const bad = await call('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: {} } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/auth\.identity\.methods: is required/);
  });

  it('runs a few password logins at once, queues a few more and refuses the rest with 429', async () => {
    const answers = await Promise.all(Array.from({ length: 24 }, () => login('mia', 'wrong-guess', 'proj-m')));
    const refused = answers.filter((a) => a.status === 429);
    // 2 hash at once and 16 wait: of 24 sent together, up to 6 are refused, the others checked.
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(6);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(24 - refused.length);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect(refused[0]!.body).toEqual({ error: { code: 429, title: 'Too Many Requests', message: expect.stringMatching(/^too many logins at once/) } });
    // The gate empties: the right password gets in.
    expect((await login('mia', 'mia-password', 'proj-m')).status).toBe(201);
  });

  it('accepts an Orrery API token as an application credential', async () => {
    const r = await call('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: {
      methods: ['application_credential'], application_credential: { id: 'any', secret: tcp.admin.token },
    } } } });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-subject-token')).toBe(tcp.admin.token);
    expect(r.body.token).toMatchObject({ methods: ['application_credential'], project: { name: 'admin' } });
  });

  it('validates and revokes tokens', async () => {
    const t = (await login('mia', 'mia-password', 'proj-m')).headers.get('x-subject-token')!;
    const shown = await call('GET', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': t } });
    expect(shown.status).toBe(200);
    expect(shown.body.token.user.name).toBe('mia');
    // Someone else's token is not another member's to look at.
    expect((await call('GET', '/identity/v3/auth/tokens', { token: other, headers: { 'x-subject-token': t } })).status).toBe(403);
    expect((await call('DELETE', '/identity/v3/auth/tokens', { token: t, headers: { 'x-subject-token': t } })).status).toBe(204);
    expect((await compute('GET', '/servers', t)).status).toBe(401);
    expect((await call('GET', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': t } })).status).toBe(404);
  });

  it('lists projects and users for admins only', async () => {
    const p = await call('GET', '/identity/v3/projects', { token: admin });
    expect(p.status).toBe(200);
    expect(p.body.projects.map((x: { name: string }) => x.name).sort()).toEqual(['admin', 'proj-m', 'proj-o']);
    const u = await call('GET', '/identity/v3/users', { token: admin });
    expect(u.body.users.map((x: { name: string }) => x.name).sort()).toEqual(['admin', 'mia', 'otto']);
    const refused = await call('GET', '/identity/v3/projects', { token: member });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('identity:list_projects');
    const mine = await call('GET', '/identity/v3/auth/projects', { token: member });
    expect(mine.body.projects.map((x: { name: string }) => x.name)).toEqual(['proj-m']);
  });

  it('sets passwords: your own, or anyone\'s as an admin', async () => {
    const mia = await tcp.userClient('proj-m', 'mia', ['member']);
    const own = await mia.client.request(`mutation { setUserPassword(user: "mia", password: "mia-password-2") { __typename } }`);
    expect(own.setUserPassword.__typename).toBe('SetUserPasswordSuccess');
    const others = await mia.client.request(`mutation { setUserPassword(user: "otto", password: "stolen-password") { __typename ... on Error { message } } }`);
    expect(others.setUserPassword).toEqual({ __typename: 'ForbiddenError', message: expect.stringContaining('user:set_password') });
    const short = await mia.client.request(`mutation { setUserPassword(user: "mia", password: "short") { __typename ... on ValidationError { field } } }`);
    expect(short.setUserPassword).toEqual({ __typename: 'ValidationError', field: 'password' });
    expect((await login('mia', 'mia-password-2', 'proj-m')).status).toBe(201);
    const [stored] = await tcp.db.sql<{ password_hash: string }[]>`select password_hash from users where name = 'mia'`;
    expect(stored!.password_hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  });

  it('sets a password with `orrery set password`, read from stdin', async () => {
    const bin = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [bin, 'set', 'password', 'otto'], {
        env: { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: tcp.admin.token },
      }, (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)));
      child.stdin!.end('otto-password-2\n');
    });
    expect(out).toBe('user/otto password set\n');
    expect((await login('otto', 'otto-password-2', 'proj-o')).status).toBe(201);
    expect((await login('otto', 'otto-password', 'proj-o')).status).toBe(401);
  });
});

describe('compute v2.1', () => {
  it('serves version documents and negotiates microversions', async () => {
    const list = await call('GET', '/compute/');
    expect(list.body.versions).toEqual([expect.objectContaining({ id: 'v2.1', version: '2.79', min_version: '2.1' })]);
    expect((await call('GET', '/compute/v2.1')).body.version).toMatchObject({ id: 'v2.1', version: '2.79' });

    const none = await call('GET', '/compute/v2.1/flavors', { token: member });
    expect(none.headers.get('openstack-api-version')).toBe('compute 2.1');
    const latest = await compute('GET', '/flavors', member, undefined, 'latest');
    expect(latest.headers.get('openstack-api-version')).toBe('compute 2.79');
    expect(latest.headers.get('x-openstack-nova-api-version')).toBe('2.79');
    expect(latest.headers.get('vary')).toContain('OpenStack-API-Version');
    const legacy = await call('GET', '/compute/v2.1/flavors', { token: member, headers: { 'x-openstack-nova-api-version': '2.60' } });
    expect(legacy.headers.get('x-openstack-nova-api-version')).toBe('2.60');
    const tooNew = await compute('GET', '/flavors', member, undefined, '2.80');
    expect(tooNew.status).toBe(406);
    expect(tooNew.body).toEqual({ notAcceptable: { code: 406, message: 'Version 2.80 is not supported by the API. Minimum is 2.1 and maximum is 2.79.' } });
    expect((await compute('GET', '/flavors', member, undefined, 'two')).status).toBe(400);
  });

  it('needs a token and returns request ids', async () => {
    const anon = await call('GET', '/compute/v2.1/servers');
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ unauthorized: { code: 401, message: expect.any(String) } });
    const r = await call('GET', '/compute/v2.1/servers', { token: member, headers: { 'x-openstack-request-id': 'req-given-1' } });
    expect(r.headers.get('x-openstack-request-id')).toBe('req-given-1');
    expect(r.headers.get('x-compute-request-id')).toBe('req-given-1');
    expect((await compute('GET', '/no-such-route', member)).body).toEqual({ itemNotFound: { code: 404, message: expect.any(String) } });
  });

  it('creates, shows, updates, acts on and deletes a server', async () => {
    const made = await compute('POST', '/servers', member, { server: { name: 'h1', flavorRef: 'm1.small', imageRef: 'test-image', networks: 'none', metadata: { role: 'web' }, tags: ['a'] } });
    expect(made.status).toBe(202);
    const id = made.body.server.id as string;
    expect(made.headers.get('location')).toBe(`${tcp.url}/compute/v2.1/servers/${id}`);
    expect(made.body.server).toMatchObject({ links: [{ rel: 'self' }, { rel: 'bookmark' }], 'OS-DCF:diskConfig': 'MANUAL' });
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active');

    const shown = await compute('GET', `/servers/${id}`, member);
    expect(shown.status).toBe(200);
    expect(shown.body.server).toMatchObject({
      id, name: 'h1', status: 'ACTIVE', metadata: { role: 'web' }, tags: ['a'], 'OS-EXT-STS:vm_state': 'active', 'OS-EXT-STS:power_state': 1,
      flavor: { original_name: 'm1.small', vcpus: 1, ram: 512, disk: 1 }, locked: false, locked_reason: null,
    });
    const old = await compute('GET', `/servers/${id}`, member, undefined, '2.1');
    expect(old.body.server.flavor).toMatchObject({ id: expect.any(String), links: expect.any(Array) });
    expect(old.body.server).not.toHaveProperty('tags');

    expect((await compute('GET', '/servers', member)).body.servers).toEqual([{ id, name: 'h1', links: expect.any(Array) }]);
    expect((await compute('GET', '/servers/detail?status=ACTIVE', member)).body.servers).toHaveLength(1);
    expect((await compute('GET', '/servers/detail?status=SHUTOFF', member)).body.servers).toHaveLength(0);
    expect((await compute('GET', '/servers?name=h1', member)).body.servers).toHaveLength(1);
    // Other projects see nothing of it: 404, as Nova answers.
    expect((await compute('GET', `/servers/${id}`, other)).status).toBe(404);
    expect((await compute('GET', '/servers', other)).body.servers).toEqual([]);
    expect((await compute('POST', `/servers/${id}/action`, other, { 'os-stop': null })).status).toBe(404);
    const all = await compute('GET', '/servers?all_tenants=1', member);
    expect(all.status).toBe(403);
    expect((await compute('GET', '/servers?all_tenants=1', admin)).body.servers.map((s: { id: string }) => s.id)).toContain(id);

    const renamed = await compute('PUT', `/servers/${id}`, member, { server: { name: 'h1-renamed' } });
    expect(renamed.body.server.name).toBe('h1-renamed');
    expect((await compute('POST', `/servers/${id}/metadata`, member, { metadata: { tier: 'gold' } })).body.metadata).toEqual({ role: 'web', tier: 'gold' });
    expect((await compute('GET', `/servers/${id}/metadata`, member)).body.metadata).toEqual({ role: 'web', tier: 'gold' });
    expect((await compute('GET', `/servers/${id}/ips`, member)).body).toEqual({ addresses: {} });
    expect((await compute('GET', `/servers/${id}/os-interface`, member)).body).toEqual({ interfaceAttachments: [] });

    // Actions: 202 and nothing in the body; a repeated imperative transition is a 409.
    const stop = await compute('POST', `/servers/${id}/action`, member, { 'os-stop': null });
    expect(stop.status).toBe(202);
    expect(stop.body).toBeUndefined();
    await waitFor('stopped', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'stopped');
    const again = await compute('POST', `/servers/${id}/action`, member, { 'os-stop': null });
    expect(again.status).toBe(409);
    expect(again.body.conflictingRequest).toMatchObject({ code: 409, message: expect.stringContaining('vm_state stopped') });
    expect((await compute('POST', `/servers/${id}/action`, member, { resume: null })).status).toBe(409);
    expect((await compute('POST', `/servers/${id}/action`, member, { 'os-start': null })).status).toBe(202);
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null);
    expect((await compute('POST', `/servers/${id}/action`, member, { unpause: null })).status).toBe(409);
    expect((await compute('POST', `/servers/${id}/action`, member, { lock: { locked_reason: 'audit' } })).status).toBe(202);
    expect((await compute('GET', `/servers/${id}`, member)).body.server).toMatchObject({ locked: true, locked_reason: 'audit' });
    expect((await compute('POST', `/servers/${id}/action`, member, { unlock: null })).status).toBe(202);
    expect((await compute('POST', `/servers/${id}/action`, member, { reboot: { type: 'SOFT' } })).status).toBe(202);
    const badReboot = await compute('POST', `/servers/${id}/action`, member, { reboot: { type: 'GENTLE' } });
    expect(badReboot.status).toBe(400);
    expect(badReboot.body.badRequest.message).toMatch(/^reboot\.type: must be one of/);
    expect((await compute('POST', `/servers/${id}/action`, member, { dance: null })).body).toEqual({ badRequest: { code: 400, message: 'There is no such action: dance' } });
    const migrate = await compute('POST', `/servers/${id}/action`, member, { migrate: null });
    expect(migrate.status).toBe(403);
    expect(migrate.body.forbidden.message).toBe("Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed.");

    await waitFor('rebooted', () => instanceRow(tcp.db.sql, id), (r) => r?.task_state === null);
    const output = await compute('POST', `/servers/${id}/action`, member, { 'os-getConsoleOutput': { length: 5 } });
    expect(output.status).toBe(200);
    expect(output.body).toEqual({ output: expect.any(String) });
    const console = await compute('POST', `/servers/${id}/remote-consoles`, member, { remote_console: { protocol: 'vnc', type: 'novnc' } });
    expect(console.status).toBe(200);
    expect(console.body.remote_console).toMatchObject({ protocol: 'vnc', type: 'novnc', url: expect.stringMatching(/^ws/) });

    const actions = await compute('GET', `/servers/${id}/os-instance-actions`, member);
    expect(actions.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['create', 'stop', 'start', 'reboot']));
    const create = actions.body.instanceActions.find((a: { action: string }) => a.action === 'create');
    const one = await compute('GET', `/servers/${id}/os-instance-actions/${create.request_id}`, member);
    expect(one.body.instanceAction).toMatchObject({ action: 'create', instance_uuid: id, events: expect.any(Array) });
    expect(one.body.instanceAction.events[0]).toMatchObject({ event: expect.any(String), start_time: expect.any(String) });

    expect((await compute('DELETE', `/servers/${id}`, other)).status).toBe(404);
    expect((await compute('DELETE', `/servers/${id}`, member)).status).toBe(204);
    await waitFor('gone', () => instanceRow(tcp.db.sql, id), (r) => r === undefined);
    expect((await compute('GET', `/servers/${id}`, member)).status).toBe(404);
    expect((await compute('GET', '/servers/not-a-uuid', member)).body).toEqual({ itemNotFound: { code: 404, message: 'Instance not-a-uuid could not be found.' } });
  });

  it('carries out the other server actions', async () => {
    const made = await compute('POST', '/servers', member, { server: { name: 'h2', flavorRef: 'm1.small', imageRef: 'test-image', networks: 'none' } });
    const id = made.body.server.id as string;
    const row = () => instanceRow(tcp.db.sql, id);
    const settled = (vm: string) => waitFor(vm, row, (r) => r?.vm_state === vm && r.task_state === null);
    const act = async (user: string, body: object, status = 202) => {
      const r = await compute('POST', `/servers/${id}/action`, user, body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    await settled('active');
    await act(member, { suspend: null });
    await settled('suspended');
    await act(member, { suspend: null }, 409);
    await act(member, { resume: null });
    await settled('active');
    await act(member, { pause: null });
    await settled('paused');
    await act(member, { resume: null }, 409);
    await act(member, { unpause: null });
    await settled('active');

    expect(await act(member, { rescue: null }, 200)).toEqual({ adminPass: '' });
    await settled('rescued');
    await act(member, { unrescue: null });
    await settled('active');

    const rebuilt = await act(member, { rebuild: { imageRef: 'test-image', name: 'h2-rebuilt' } });
    expect(rebuilt.server).toMatchObject({ id, name: 'h2-rebuilt' });
    await settled('active');

    await createFlavor(tcp.admin, 'm1.http', 1, 256, 1);
    await act(member, { resize: { flavorRef: 'm1.http' } });
    await settled('resized');
    await act(member, { revertResize: null });
    await settled('active');
    const [flavor] = await tcp.db.sql<{ name: string }[]>`select f.name from instances i join flavors f on f.id = i.flavor_id where i.id = ${id}`;
    expect(flavor!.name).toBe('m1.small');

    const from = (await row())!.host_id;
    await act(member, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, 403);
    await act(admin, { 'os-migrateLive': { host: null, block_migration: 'auto' } });
    await waitFor('moved', row, (r) => r?.host_id !== from && r?.vm_state === 'active' && r.task_state === null);
    // Evacuation is for servers whose host is down; Orrery's guard says so, as a 409.
    const evac = await compute('POST', `/servers/${id}/action`, admin, { evacuate: {} });
    expect(evac.status).toBe(409);
    expect(evac.body.conflictingRequest.message).toMatch(/is up/);

    await act(member, { shelve: null });
    await settled('shelved_offloaded');
    await act(member, { shelveOffload: null });
    await act(member, { unshelve: null });
    await settled('active');
    const image = await act(member, { createImage: { name: 'h2-snap' } });
    expect(image).toEqual({ image_id: expect.any(String) });
    await waitFor('snapshot', async () => (await tcp.db.sql`select status from images where id = ${image.image_id}`)[0]?.status, (st) => st === 'active');
    expect((await compute('DELETE', `/servers/${id}`, member)).status).toBe(204);
  });

  it('attaches, shows and detaches interfaces', async () => {
    const mia = await tcp.userClient('proj-m', 'mia', ['member']);
    const net = await mia.client.request(`mutation { createNetwork(input: { name: "if-net" }) { ... on CreateNetworkSuccess { network { id } } } }`);
    const netId = net.createNetwork.network.id as string;
    await mia.client.request(`mutation { createSubnet(input: { network: "if-net", cidr: "10.9.0.0/24" }) { __typename } }`);
    const made = await compute('POST', '/servers', member, { server: { name: 'if1', flavorRef: 'm1.small', imageRef: 'test-image', networks: 'none' } });
    const id = made.body.server.id as string;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null);

    const both = await compute('POST', `/servers/${id}/os-interface`, member, { interfaceAttachment: { net_id: netId, port_id: netId } });
    expect(both.body).toEqual({ badRequest: { code: 400, message: 'Must not input both network_id and port_id' } });
    const extra = await compute('POST', `/servers/${id}/os-interface`, member, { interfaceAttachment: { net_id: netId, mtu: 9000 } });
    expect(extra.body.badRequest.message).toMatch(/^interfaceAttachment\.mtu/);
    const noNet = await compute('POST', `/servers/${id}/os-interface`, member, { interfaceAttachment: { net_id: 'no-such-net' } });
    expect(noNet.status).toBe(404);
    const outside = await compute('POST', `/servers/${id}/os-interface`, member, { interfaceAttachment: { net_id: netId, fixed_ips: [{ ip_address: '10.8.0.5' }] } });
    expect(outside.status).toBe(400);
    expect(outside.body.badRequest.message).toContain('interfaceAttachment.fixed_ips.0.ip_address');
    expect((await compute('POST', `/servers/${id}/os-interface`, other, { interfaceAttachment: { net_id: netId } })).status).toBe(404);

    const att = await compute('POST', `/servers/${id}/os-interface`, member, { interfaceAttachment: { net_id: netId, fixed_ips: [{ ip_address: '10.9.0.7' }] } });
    expect(att.status).toBe(200);
    const portId = att.body.interfaceAttachment.port_id as string;
    expect(att.body.interfaceAttachment).toEqual({
      port_id: portId, net_id: netId, mac_addr: expect.stringMatching(/^fa:16:3e/), port_state: expect.any(String),
      fixed_ips: [{ ip_address: '10.9.0.7', subnet_id: expect.any(String) }], tag: null,
    });
    const [port] = await tcp.db.sql<{ instance_id: string }[]>`select instance_id from ports where id = ${portId}`;
    expect(port!.instance_id).toBe(id);
    await waitFor('plugged', async () => (await tcp.db.sql`select state from instance_actions where instance_id = ${id} and action = 'attach-interface'`)[0]?.state,
      (st) => st === 'succeeded');
    const shown = await compute('GET', `/servers/${id}/os-interface/${portId}`, member);
    expect(shown.body.interfaceAttachment).toMatchObject({ port_id: portId, port_state: 'ACTIVE', fixed_ips: [{ ip_address: '10.9.0.7' }] });
    expect((await compute('GET', `/servers/${id}/os-interface/${portId}`, member, undefined, '2.69')).body.interfaceAttachment).not.toHaveProperty('tag');
    expect((await compute('GET', `/servers/${id}/os-interface`, member)).body.interfaceAttachments).toHaveLength(1);
    expect((await compute('GET', `/servers/${id}/os-interface/${netId}`, member)).status).toBe(404);

    expect((await compute('DELETE', `/servers/${id}/os-interface/${portId}`, other)).status).toBe(404);
    const gone = await compute('DELETE', `/servers/${id}/os-interface/${portId}`, member);
    expect(gone.status).toBe(202);
    expect(gone.body).toBeUndefined();
    // The port the attach made goes with its NIC, and its address is free again.
    expect(await tcp.db.sql`select id from ports where id = ${portId}`).toHaveLength(0);
    expect((await compute('DELETE', `/servers/${id}/os-interface/${portId}`, member)).status).toBe(404);
    expect((await compute('GET', `/servers/${id}/os-interface`, member)).body.interfaceAttachments).toEqual([]);
    expect((await compute('DELETE', `/servers/${id}`, member)).status).toBe(204);
    await waitFor('gone', () => instanceRow(tcp.db.sql, id), (r) => r === undefined);
  });

  it('replaces, adds, checks and removes server tags from 2.26', async () => {
    const made = await compute('POST', '/servers', member, { server: { name: 'tg1', flavorRef: 'm1.small', imageRef: 'test-image', networks: 'none', tags: ['a'] } });
    const id = made.body.server.id as string;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null);
    const stored = async () => (await tcp.db.sql<{ tags: string[] }[]>`select tags from instances where id = ${id}`)[0]!.tags;

    expect((await compute('GET', `/servers/${id}/tags`, member, undefined, '2.25')).status).toBe(404);
    expect((await compute('PUT', `/servers/${id}/tags/x`, member, undefined, '2.25')).status).toBe(404);
    expect((await compute('GET', `/servers/${id}/tags`, member)).body).toEqual({ tags: ['a'] });

    const all = await compute('PUT', `/servers/${id}/tags`, member, { tags: ['b', 'c'] });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ tags: ['b', 'c'] });
    expect(await stored()).toEqual(['b', 'c']);
    const bad = await compute('PUT', `/servers/${id}/tags`, member, { tags: ['no/slash'] });
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toMatch(/^tags/);
    expect((await compute('PUT', `/servers/${id}/tags`, member, { tag: ['x'] })).status).toBe(400);
    expect((await compute('PUT', `/servers/${id}/tags`, other, { tags: ['x'] })).status).toBe(404);

    const added = await compute('PUT', `/servers/${id}/tags/d`, member);
    expect(added.status).toBe(201);
    expect(added.headers.get('location')).toBe(`${tcp.url}/compute/v2.1/servers/${id}/tags/d`);
    expect((await compute('PUT', `/servers/${id}/tags/d`, member)).status).toBe(204);
    expect(await stored()).toEqual(['b', 'c', 'd']);
    expect((await compute('PUT', `/servers/${id}/tags/${'x'.repeat(61)}`, member)).body.badRequest.message).toMatch(/^tag/);
    expect((await compute('GET', `/servers/${id}/tags/d`, member)).status).toBe(204);
    expect((await compute('GET', `/servers/${id}/tags/zz`, member)).status).toBe(404);

    expect((await compute('DELETE', `/servers/${id}/tags/c`, member)).status).toBe(204);
    expect((await compute('DELETE', `/servers/${id}/tags/c`, member)).body).toEqual({ itemNotFound: { code: 404, message: 'Tag c could not be found.' } });
    expect(await stored()).toEqual(['b', 'd']);
    expect((await compute('DELETE', `/servers/${id}/tags`, member)).status).toBe(204);
    expect(await stored()).toEqual([]);
    expect((await compute('DELETE', `/servers/${id}`, member)).status).toBe(204);
    await waitFor('gone', () => instanceRow(tcp.db.sql, id), (r) => r === undefined);
  });

  it('refuses bad server bodies with the field, and a quota with 403', async () => {
    const noFlavor = await compute('POST', '/servers', member, { server: { name: 'x', imageRef: 'test-image' } });
    expect(noFlavor.body).toEqual({ badRequest: { code: 400, message: 'server.flavorRef: is required' } });
    const unknown = await compute('POST', '/servers', member, { server: { name: 'x', flavorRef: 'nope', imageRef: 'test-image' } });
    expect(unknown.body.badRequest.message).toContain('server.flavorRef');
    await tcp.admin.request(`mutation { setQuota(input: {project: "proj-m", resource: "instances", limit: 0}) { __typename } }`);
    const quota = await compute('POST', '/servers', member, { server: { name: 'x', flavorRef: 'm1.small', imageRef: 'test-image', networks: 'none' } });
    expect(quota.status).toBe(403);
    expect(quota.body.forbidden.message).toMatch(/quota exceeded for instances/);
    await tcp.admin.request(`mutation { setQuota(input: {project: "proj-m", resource: "instances", limit: null}) { __typename } }`);
  });

  it('serves flavors, key pairs, zones, aggregates, hypervisors, services, server groups, quotas and limits', async () => {
    const flavors = await compute('GET', '/flavors/detail', member);
    const small = flavors.body.flavors.find((f: { name: string }) => f.name === 'm1.small');
    expect(small).toMatchObject({ ram: 512, vcpus: 1, disk: 1, 'os-flavor-access:is_public': true, extra_specs: {}, links: expect.any(Array) });
    const fid = small.id;
    expect((await compute('GET', `/flavors/${fid}`, member)).body.flavor.name).toBe('m1.small');
    expect((await compute('GET', `/flavors/${fid}/os-extra_specs`, member)).body).toEqual({ extra_specs: {} });
    expect((await compute('POST', '/flavors', member, { flavor: { name: 'f', ram: 1, vcpus: 1, disk: 0 } })).status).toBe(403);
    const made = await compute('POST', '/flavors', admin, { flavor: { name: 'm1.tiny', ram: 256, vcpus: 1, disk: 0, description: 'tiny' } });
    expect(made.status).toBe(200);
    expect(made.body.flavor).toMatchObject({ name: 'm1.tiny', description: 'tiny' });
    expect((await compute('DELETE', `/flavors/${made.body.flavor.id}`, admin)).status).toBe(202);

    const kp = await compute('POST', '/os-keypairs', member, { keypair: { name: 'kp1' } });
    expect(kp.status).toBe(201);
    expect(kp.body.keypair).toMatchObject({ name: 'kp1', type: 'ssh', private_key: expect.stringContaining('PRIVATE KEY'), fingerprint: expect.any(String) });
    expect((await compute('GET', '/os-keypairs', member)).body.keypairs).toEqual([{ keypair: expect.objectContaining({ name: 'kp1' }) }]);
    expect((await compute('GET', '/os-keypairs/kp1', member)).body.keypair).toMatchObject({ name: 'kp1', public_key: expect.any(String) });
    expect((await compute('GET', '/os-keypairs/kp1', other)).status).toBe(404);
    expect((await compute('POST', '/os-keypairs', member, { keypair: { name: 'bad/name' } })).body.badRequest.message).toMatch(/^keypair\.name/);
    expect((await compute('DELETE', '/os-keypairs/kp1', member)).status).toBe(204);

    expect((await compute('GET', '/os-availability-zone', member)).body.availabilityZoneInfo).toEqual([
      { zoneName: 'nova', zoneState: { available: true }, hosts: null },
    ]);

    const agg = await compute('POST', '/os-aggregates', admin, { aggregate: { name: 'agg-http' } });
    expect(agg.body.aggregate).toMatchObject({ name: 'agg-http', hosts: [], metadata: {} });
    const aid = agg.body.aggregate.id;
    expect((await compute('POST', `/os-aggregates/${aid}/action`, admin, { add_host: { host: 'http-a' } })).body.aggregate.hosts).toEqual(['http-a']);
    expect((await compute('POST', `/os-aggregates/${aid}/action`, admin, { set_metadata: { metadata: { a: '1', b: '2' } } })).body.aggregate.metadata).toEqual({ a: '1', b: '2' });
    expect((await compute('POST', `/os-aggregates/${aid}/action`, admin, { set_metadata: { metadata: { a: null } } })).body.aggregate.metadata).toEqual({ b: '2' });
    expect((await compute('POST', `/os-aggregates/${aid}/action`, admin, { add_host: { host: 'no-such-host' } })).status).toBe(404);
    expect((await compute('POST', `/os-aggregates/${aid}/action`, member, { add_host: { host: 'http-b' } })).status).toBe(403);
    expect((await compute('POST', `/os-aggregates/${aid}/action`, admin, { remove_host: { host: 'http-a' } })).body.aggregate.hosts).toEqual([]);
    expect((await compute('GET', '/os-aggregates', admin)).body.aggregates).toHaveLength(1);
    expect((await compute('DELETE', `/os-aggregates/${aid}`, admin)).status).toBe(200);

    const hyp = await compute('GET', '/os-hypervisors/detail', admin);
    expect(hyp.body.hypervisors.map((h: { hypervisor_hostname: string }) => h.hypervisor_hostname).sort()).toEqual(['http-a', 'http-b']);
    expect(hyp.body.hypervisors[0]).toMatchObject({ state: 'up', status: 'enabled', vcpus: expect.any(Number), memory_mb: expect.any(Number) });
    expect((await compute('GET', '/os-hypervisors', member)).status).toBe(403);
    const services = await compute('GET', '/os-services?binary=nova-compute', admin);
    expect(services.body.services).toHaveLength(2);
    expect(services.body.services[0]).toMatchObject({ binary: 'nova-compute', state: 'up', status: 'enabled', zone: 'nova', forced_down: false });

    const group = await compute('POST', '/os-server-groups', member, { server_group: { name: 'g1', policy: 'anti-affinity', rules: { max_server_per_host: 2 } } });
    expect(group.body.server_group).toMatchObject({ name: 'g1', policy: 'anti-affinity', rules: { max_server_per_host: 2 }, members: [] });
    const oldGroup = await compute('POST', '/os-server-groups', member, { server_group: { name: 'g2', policies: ['affinity'] } }, '2.1');
    expect(oldGroup.body.server_group).toMatchObject({ name: 'g2', policies: ['affinity'] });
    expect((await compute('GET', '/os-server-groups', member)).body.server_groups).toHaveLength(2);
    expect((await compute('GET', '/os-server-groups', other)).body.server_groups).toHaveLength(0);
    expect((await compute('DELETE', `/os-server-groups/${group.body.server_group.id}`, member)).status).toBe(204);

    const [proj] = await tcp.db.sql<{ id: string }[]>`select id from projects where name = 'proj-m'`;
    const quota = await compute('GET', `/os-quota-sets/${proj!.id}`, member);
    expect(quota.body.quota_set).toMatchObject({ id: proj!.id, instances: 10, cores: 20, ram: 51200, key_pairs: 100, server_groups: 10 });
    const detail = await compute('GET', `/os-quota-sets/${proj!.id}/detail`, member);
    expect(detail.body.quota_set.server_groups).toEqual({ limit: 10, in_use: 1, reserved: 0 });
    expect((await compute('GET', `/os-quota-sets/${tcp.adminProjectId}`, member)).status).toBe(404);
    expect((await compute('PUT', `/os-quota-sets/${proj!.id}`, member, { quota_set: { instances: 5 } })).status).toBe(403);
    const raised = await compute('PUT', `/os-quota-sets/${proj!.id}`, admin, { quota_set: { instances: 12, cores: 24 } });
    expect(raised.body.quota_set).toMatchObject({ instances: 12, cores: 24, ram: 51200 });
    const badQuota = await compute('PUT', `/os-quota-sets/${proj!.id}`, admin, { quota_set: { gpus: 1 } });
    expect(badQuota.body).toEqual({ badRequest: { code: 400, message: 'quota_set.gpus: is not a known field' } });
    await compute('PUT', `/os-quota-sets/${proj!.id}`, admin, { quota_set: { instances: 10, cores: 20 } });
    const limits = await compute('GET', '/limits', member);
    expect(limits.body.limits).toMatchObject({ rate: [], absolute: { maxTotalInstances: 10, totalInstancesUsed: 0, maxTotalCores: 20, maxServerGroups: 10, totalServerGroupsUsed: 1 } });
  });
});

describe('image v2', () => {
  it('creates an image, takes its bytes with a checksum, serves and deletes it', async () => {
    const v = await call('GET', '/image/');
    expect(v.body.versions[0]).toMatchObject({ status: 'CURRENT', links: [{ rel: 'self', href: `${tcp.url}/image/v2/` }] });
    const made = await call('POST', '/image/v2/images', { token: member, body: { name: 'img-http', disk_format: 'raw', container_format: 'bare', os_distro: 'cirros' } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name: 'img-http', status: 'queued', visibility: 'private', disk_format: 'raw', os_distro: 'cirros', file: `/v2/images/${made.body.id}/file` });
    const id = made.body.id as string;
    const bytes = Buffer.alloc(4096, 3);
    const put = await call('PUT', `/image/v2/images/${id}/file`, { token: member, raw: bytes });
    expect(put.status).toBe(204);
    const shown = await call('GET', `/image/v2/images/${id}`, { token: member });
    expect(shown.body).toMatchObject({ status: 'active', size: 4096, os_hash_algo: 'sha256', os_hash_value: createHash('sha256').update(bytes).digest('hex') });
    expect((await call('PUT', `/image/v2/images/${id}/file`, { token: member, raw: bytes })).status).toBe(409);
    const file = await fetch(`${tcp.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': member } });
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await call('GET', `/image/v2/images/${id}`, { token: other })).status).toBe(404);
    const names = async (token: string) => (await call('GET', '/image/v2/images', { token })).body.images.map((i: { name: string }) => i.name);
    expect(await names(member)).toEqual(expect.arrayContaining(['img-http', 'test-image']));
    expect(await names(other)).toEqual(['test-image']);
    const bad = await call('POST', '/image/v2/images', { token: member, body: { name: 'x', disk_format: 'vmdk' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^disk_format: must be one of/);
    expect((await call('DELETE', `/image/v2/images/${id}`, { token: member })).status).toBe(204);
    expect((await call('GET', `/image/v2/images/${id}`, { token: member })).status).toBe(404);
  });

  it('patches an image with JSON Patch: its name, visibility, minimums and properties', async () => {
    const made = await call('POST', '/image/v2/images', { token: member, body: { name: 'img-patch', disk_format: 'raw', os_distro: 'cirros', hw_rng: 'yes' } });
    const id = made.body.id as string;
    const patch = (token: string, ops: unknown, type = 'application/openstack-images-v2.1-json-patch') =>
      call('PATCH', `/image/v2/images/${id}`, { token, headers: { 'content-type': type }, raw: Buffer.from(JSON.stringify(ops)) });

    const r = await patch(member, [
      { op: 'replace', path: '/name', value: 'img-patched' }, { op: 'replace', path: '/min_disk', value: 2 }, { op: 'add', path: '/min_ram', value: 128 },
      { op: 'add', path: '/os_version', value: '0.6' }, { op: 'replace', path: '/os_distro', value: 'alpine' }, { op: 'remove', path: '/hw_rng' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, name: 'img-patched', min_disk: 2, min_ram: 128, os_version: '0.6', os_distro: 'alpine', visibility: 'private' });
    expect(r.body).not.toHaveProperty('hw_rng');
    const [row] = await tcp.db.sql`select name, min_disk_gb, min_ram_mb, properties from images where id = ${id}`;
    expect(row).toEqual({ name: 'img-patched', min_disk_gb: 2, min_ram_mb: 128, properties: { os_distro: 'alpine', os_version: '0.6' } });
    expect((await patch(member, [])).body.name).toBe('img-patched');

    expect((await patch(member, [{ op: 'replace', path: '/name', value: 'x' }], 'application/json')).status).toBe(415);
    const readOnly = await patch(member, [{ op: 'replace', path: '/status', value: 'active' }]);
    expect(readOnly.status).toBe(403);
    expect(readOnly.body).toEqual({ code: '403 Forbidden', title: 'Forbidden', message: "Attribute 'status' is read-only." });
    expect((await patch(member, [{ op: 'add', path: '/tags', value: ['t'] }])).status).toBe(403);
    expect((await patch(member, [{ op: 'remove', path: '/name' }])).status).toBe(403);
    expect((await patch(member, [{ op: 'remove', path: '/hw_rng' }])).status).toBe(409);
    expect((await patch(member, [{ op: 'replace', path: '/a/b', value: 'x' }])).status).toBe(400);
    expect((await patch(member, [{ op: 'move', path: '/name', from: '/x' }])).status).toBe(400);
    const badRam = await patch(member, [{ op: 'replace', path: '/min_ram', value: 'lots' }]);
    expect(badRam.status).toBe(400);
    expect(badRam.body.message).toMatch(/^min_ram: /);
    // Publishing is image:publicize, an admin's; Glance's shared is Orrery's private, as on create.
    expect((await patch(member, [{ op: 'replace', path: '/visibility', value: 'public' }])).status).toBe(403);
    expect((await patch(member, [{ op: 'replace', path: '/visibility', value: 'shared' }])).body.visibility).toBe('private');
    // Another project does not see the image at all.
    expect((await patch(other, [{ op: 'replace', path: '/name', value: 'mine' }])).status).toBe(404);
    const [after] = await tcp.db.sql`select name, visibility from images where id = ${id}`;
    expect(after).toEqual({ name: 'img-patched', visibility: 'private' });
    expect((await call('DELETE', `/image/v2/images/${id}`, { token: member })).status).toBe(204);
  });
});
