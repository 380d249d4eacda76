import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
/** An empty working folder, so no .orrery/admin-token of the repository is picked up. */
let cwd: string;
let adminToken: string;
let alice: { client: OrreryClient; projectId: string; token: string };
let adminVmId: string;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'orrery-cli-test-'));
  tcp = await startTestControlPlane({ config: { dataDir: path.join(cwd, 'data') } });
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  await createFlavor(tcp.admin, 'm1.spare', 1, 256, 1);
  const doomed = { failCreate: /^doomed/ };
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'cli-1', driver: doomed }, { name: 'cli-2', driver: doomed }]);
  const [admin] = await tcp.db.sql<{ id: string }[]>`select id from users where name = 'admin'`;
  adminToken = (await issueToken(tcp.db.sql, { kind: 'user', userId: admin!.id, projectId: tcp.adminProjectId })).secret;
  const a = await tcp.userClient('red', 'alice', ['member']);
  alice = { ...a, token: (await issueToken(tcp.db.sql, { kind: 'user', userId: a.userId, projectId: a.projectId })).secret };
  // Another project's instance: alice's listings must not show it.
  adminVmId = (await createInstance(tcp.admin, { name: 'admin-vm', flavor: 'm1.spare', image: 'test-image' })).instance.id;
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
  await rm(cwd, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], token: string | null) {
  const env: NodeJS.ProcessEnv = { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: token ?? '' };
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (b) => (run.stdout += b));
  child.stderr.on('data', (b) => (run.stderr += b));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ ...run, code })));
  return { child, run, done };
}

/** The real CLI as a child process, as a user runs it. */
const orrery = (token: string | null, ...args: string[]) => start(args, token).done;

const row = (id: string) => instanceRow(tcp.db.sql, id);
const instanceNamed = async (name: string) =>
  (await tcp.db.sql<{ id: string; project_id: string }[]>`select id, project_id from instances where name = ${name}`)[0];

describe('orrery CLI', () => {
  it('says clearly when there is no token or the API refuses it', async () => {
    const [missing, refused] = await Promise.all([orrery(null, 'get', 'instances'), orrery('not-a-token', 'get', 'flavors')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no API token: pass --token or set ORRERY_TOKEN/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: the API refused the token (UNAUTHENTICATED); set ORRERY_TOKEN or pass --token\n');
    expect(missing.stderr + refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('creates a flavor, a zone and an enrollment token', async () => {
    const [flavor, zone, enroll] = await Promise.all([
      orrery(adminToken, 'create', 'flavor', 'm1.tiny', '--vcpus', '1', '--ram', '256', '--disk', '1'),
      orrery(adminToken, 'create', 'zone', 'az-cli', '--description', 'rack 7'),
      orrery(adminToken, 'create', 'enrollment-token', '--description', 'from the cli'),
    ]);
    expect([flavor.code, zone.code, enroll.code]).toEqual([0, 0, 0]);
    expect(flavor.stdout).toMatch(/^flavor\/m1.tiny created/);
    const [f] = await tcp.db.sql`select vcpus, ram_mb, disk_gb from flavors where name = 'm1.tiny'`;
    expect(f).toEqual({ vcpus: 1, ram_mb: 256, disk_gb: 1 });
    const [z] = await tcp.db.sql`select description from availability_zones where name = 'az-cli'`;
    expect(z!.description).toBe('rack 7');
    const secret = enroll.stdout.trim();
    const [t] = await tcp.db.sql`select kind from tokens where secret_hash = ${createHash('sha256').update(secret).digest()}`;
    expect(t?.kind).toBe('enrollment');
  });

  it('refuses an unknown flavor naming the field, and writes nothing', async () => {
    const r = await orrery(alice.token, 'create', 'instance', 'nope', '--flavor', 'no-such', '--image', 'test-image');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: flavor "no-such" not found\n  field: input.flavor\n');
    expect(await instanceNamed('nope')).toBeUndefined();
  });

  it('creates an instance and, with --wait, follows it to ACTIVE', async () => {
    const r = await orrery(alice.token, 'create', 'instance', 'web-1', '--flavor', 'm1.tiny', '--image', 'test-image', '--wait');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^instance\/web-1 created \(id [0-9a-f-]{36}\)$/);
    expect(lines.at(-1)).toBe('instance web-1: ACTIVE');
    const inst = await instanceNamed('web-1');
    expect(inst!.project_id).toBe(alice.projectId);
    expect((await row(inst!.id))!.vm_state).toBe('active');
  });

  it("lists exactly the caller's instances, and hosts for admins", async () => {
    await waitFor('admin-vm active', () => row(adminVmId), (r) => r?.vm_state === 'active');
    const [json, all, hostList] = await Promise.all([
      orrery(alice.token, 'get', 'instances', '-o', 'json'),
      orrery(adminToken, 'get', 'instances', '--all-projects', '--status', 'active'),
      orrery(adminToken, 'get', 'hosts'),
    ]);
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout) as { name: string; projectId: string; status: string; hostName: string | null }[];
    expect(items.map((i) => [i.name, i.projectId, i.status, i.hostName])).toEqual([['web-1', alice.projectId, 'ACTIVE', null]]);

    const [header, ...rows] = all.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'STATUS', 'TASK', 'POWER', 'FLAVOR', 'HOST', 'AGE']);
    expect(rows.map((l) => l.split(/\s+/).slice(1, 7)).sort()).toEqual([
      ['admin-vm', 'ACTIVE', '-', 'running', 'm1.spare', expect.stringMatching(/^cli-[12]$/)],
      ['web-1', 'ACTIVE', '-', 'running', 'm1.tiny', expect.stringMatching(/^cli-[12]$/)],
    ]);

    const hostRows = hostList.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(hostRows[0]).toEqual(['NAME', 'STATE', 'STATUS', 'ZONE', 'VCPUS', 'RAM', 'DISK', 'INSTANCES']);
    expect(hostRows.slice(1).map((h) => [h[0], h[1], h[2]])).toEqual([['cli-1', 'up', 'enabled'], ['cli-2', 'up', 'enabled']]);
    expect(hostRows.slice(1).reduce((n, h) => n + Number(h[7]), 0)).toBe(2);
  });

  it('with --wait, reports a build that ends in ERROR with its fault and exits 1', async () => {
    const r = await orrery(adminToken, 'create', 'instance', 'doomed-1', '--flavor', 'm1.spare', '--image', 'test-image', '--wait');
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('instance doomed-1: ERROR');
    const { id } = (await instanceNamed('doomed-1'))!;
    const { fault } = (await row(id))!;
    expect(r.stderr.startsWith(`error: instance doomed-1 is ERROR: ${fault!.message}\n  fault: ${fault!.code}\n`)).toBe(true);
  });

  it('stops an instance (the reconciler carries it out) and starts it with --wait', async () => {
    const { id } = (await instanceNamed('web-1'))!;
    const stop = await orrery(alice.token, 'stop', 'web-1');
    expect([stop.code, stop.stdout]).toEqual([0, 'instance/web-1 stop requested\n']);
    expect((await row(id))!.desired_power_state).toBe('stopped');
    await waitFor('vm_state stopped', () => row(id), (r) => r?.vm_state === 'stopped' && r.task_state === null);

    const startRun = await orrery(alice.token, 'start', id, '--wait');
    expect(startRun.code).toBe(0);
    expect(startRun.stdout.trim().split('\n').at(-1)).toBe('instance web-1: ACTIVE');
    expect(await row(id)).toMatchObject({ vm_state: 'active', power_state: 'running', desired_power_state: 'running' });
  });

  it('reboots and live-migrates with --wait, printing the action events; a refused operation names the state', async () => {
    const made = await createInstance(tcp.admin, { name: 'ops-vm', flavor: 'm1.spare', image: 'test-image' });
    const id = made.instance.id;
    await waitFor('active', () => row(id), (r) => r?.vm_state === 'active' && r.task_state === null);
    const reboot = await orrery(adminToken, 'reboot', 'ops-vm', '--hard', '--wait');
    expect(reboot.code).toBe(0);
    expect(reboot.stdout).toMatch(/^instance\/ops-vm reboot requested \(action [0-9a-f-]{36}\)\n/);
    expect(reboot.stdout).toMatch(/instance ops-vm: reboot success on cli-[12]\n$/);
    const [a] = await tcp.db.sql`select action, state, params from instance_actions where instance_id = ${id} and action = 'reboot'`;
    expect(a).toMatchObject({ state: 'succeeded', params: { hard: true } });

    const from = (await row(id))!.host_id;
    const move = await orrery(adminToken, 'live-migrate', id, '--wait');
    expect(move.code).toBe(0);
    expect(move.stdout).toMatch(/instance ops-vm: migrate success on cli-[12]\n$/);
    const moved = (await row(id))!;
    expect(moved.host_id).not.toBe(from);
    expect(moved.vm_state).toBe('active');

    const refused = await orrery(adminToken, 'unrescue', 'ops-vm');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'error: cannot unrescue instance ops-vm in vm_state active (allowed from rescued)\n  current state: vm_state=active, task_state=none\n');
    expect((await tcp.db.sql`select 1 from instance_actions where instance_id = ${id} and action = 'unrescue'`).length).toBe(0);
  });

    it('describes an instance with its action log, and a host', async () => {
    const [inst, host] = await Promise.all([orrery(alice.token, 'describe', 'instance', 'web-1'), orrery(adminToken, 'describe', 'host', 'cli-1')]);
    expect(inst.code).toBe(0);
    expect(inst.stdout).toMatch(/^Name: +web-1$/m);
    expect(inst.stdout).toMatch(/^ {2}Flavor: +m1.tiny \(1 vCPU, 256 MiB RAM, 1 GiB disk\)$/m);
    expect(inst.stdout).toMatch(/^ {2}Image: +test-image /m);
    expect(inst.stdout).toMatch(/^Fault: +<none>$/m);
    const log = inst.stdout.slice(inst.stdout.indexOf('\nActions:\n'));
    const actions = [...log.matchAll(/^ {2}(\w+) +(\w+) /gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(actions).toEqual(['ACTION:RESULT', 'create:succeeded', 'stop:succeeded', 'start:succeeded']);
    expect(log).toMatch(/^ {4}spawn +success +cli-[12] +\S+Z +\S+Z$/m);
    expect(host.code).toBe(0);
    expect(host.stdout).toMatch(/^Name: +cli-1$/m);
    expect(host.stdout).toMatch(/^State: +up$/m);
    expect(host.stdout).toMatch(/^ {2}inventory +\d+ +\d+Mi +\d+Gi$/m);
  });

  it('watches instance events, one line each, until Ctrl-C', async () => {
    const { id } = (await instanceNamed('web-1'))!;
    const w = start(['watch', 'instances'], alice.token);
    await waitFor('watch header', async () => w.run.stdout, (s) => s.startsWith('TIME'), 10_000);
    // The subscription starts a moment after the header: touch the instance until an event shows.
    let n = 0;
    await waitFor('an UPDATED line', async () => {
      await updateInstance(alice.client, id, { metadata: [{ key: 'touch', value: String(n++) }] });
      return w.run.stdout;
    }, (s) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d +UPDATED +${id} +web-1 +ACTIVE`, 'm').test(s), 10_000);
    w.child.kill('SIGINT');
    await w.done;
    expect(w.run.stdout).not.toMatch(/admin-vm/);
  });

  it('creates an image and uploads its file', async () => {
    const file = path.join(cwd, 'disk.qcow2');
    const bytes = Buffer.from('QFI\xfb a small pretend disk '.repeat(4000), 'latin1');
    await writeFile(file, bytes);
    const r = await orrery(alice.token, 'create', 'image', 'cli-image', '--file', file, '--disk-format', 'qcow2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(r.stdout).toMatch(new RegExp(`image/cli-image active \\(sha256 ${sha}\\)`));
    const [img] = await tcp.db.sql`select status, checksum, size_bytes::int as size, owner_project_id from images where name = 'cli-image'`;
    expect(img).toEqual({ status: 'active', checksum: sha, size: bytes.length, owner_project_id: alice.projectId });
  });

  it('deletes an instance with --wait, then its flavor; refuses a flavor in use', async () => {
    const { id } = (await instanceNamed('web-1'))!;
    const [inst, flavor] = await Promise.all([orrery(alice.token, 'delete', 'instance', 'web-1', '--wait'), orrery(adminToken, 'delete', 'flavor', 'm1.spare')]);
    expect(inst.code).toBe(0);
    expect(inst.stdout.trim().split('\n').at(-1)).toBe('instance web-1: deleted');
    expect(await row(id)).toBeUndefined();
    // admin-vm still uses m1.spare: the API refuses, and the CLI says why.
    expect(flavor.code).toBe(1);
    expect(flavor.stderr).toMatch(/^error: .*m1.spare/);
    expect((await tcp.db.sql`select 1 from flavors where name = 'm1.spare'`).length).toBe(1);
    const tiny = await orrery(adminToken, 'delete', 'flavor', 'm1.tiny');
    expect([tiny.code, tiny.stdout]).toEqual([0, 'flavor/m1.tiny deleted\n']);
    expect((await tcp.db.sql`select 1 from flavors where name = 'm1.tiny'`).length).toBe(0);
  });
});
