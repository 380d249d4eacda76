import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { OrreryClient } from '../client/graphql.ts';
import { generateSshKeyPair } from '../core/ssh-keys.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, seedImage, waitFor } from './support/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkpX5iJ0Ay1L4+kp0y5C4u3VwA3fPq6lOq0TyI2fR1d ops@stack';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let cwd: string;
let adminToken: string;
let alice: { client: OrreryClient; projectId: string; token: string };

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'orrery-stack-test-'));
  tcp = await startTestControlPlane({ config: { dataDir: path.join(cwd, 'data') } });
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'cirros');
  await createFlavor(tcp.admin, 'm1.outside', 1, 256, 1);
  const doomed = { failCreate: /^doomed/ };
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'stack-1', driver: doomed }, { name: 'stack-2', driver: doomed }]);
  const [admin] = await tcp.db.sql<{ id: string }[]>`select id from users where name = 'admin'`;
  adminToken = (await issueToken(tcp.db.sql, { kind: 'user', userId: admin!.id, projectId: tcp.adminProjectId })).secret;
  const a = await tcp.userClient('blue', 'alice', ['member']);
  alice = { ...a, token: (await issueToken(tcp.db.sql, { kind: 'user', userId: a.userId, projectId: a.projectId })).secret };
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
  await rm(cwd, { recursive: true, force: true });
});

/** The real CLI as a child process, run in an empty folder. */
function orrery(token: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function writeStack(name: string, content: object | string): Promise<string> {
  const file = path.join(cwd, name);
  await writeFile(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

type InstanceDoc = Record<string, unknown> & { name: string };

/** The demo stack: two flavors, a key pair, a group, and instances (web-1 in the group, with the key). */
function demo(instances: InstanceDoc[]) {
  return {
    apiVersion: 'orrery/v1',
    kind: 'Stack',
    metadata: { name: 'demo' },
    flavors: [{ name: 'm1.stack-small', vcpus: 1, ramMb: 256, diskGb: 1 }, { name: 'm1.stack-medium', vcpus: 2, ramMb: 512, diskGb: 1 }],
    keyPairs: [{ name: 'ops', publicKey: KEY }],
    serverGroups: [{ name: 'web', policy: 'soft-anti-affinity' }],
    instances,
  };
}

const WEB_1: InstanceDoc = { name: 'web-1', flavor: 'm1.stack-small', image: 'cirros', serverGroup: 'web', keyName: 'ops', tags: ['a'], metadata: { role: 'web' } };
const WEB_2: InstanceDoc = { name: 'web-2', flavor: 'm1.stack-small', image: 'cirros' };
const OLD_1: InstanceDoc = { name: 'old-1', flavor: 'm1.stack-small', image: 'cirros' };

interface Row { id: string; vm_state: string; task_state: string | null; desired_power_state: string; flavor: string; tags: string[]; metadata: Record<string, string>; generation: number }
const instances = async (projectId = tcp.adminProjectId) =>
  Object.fromEntries((await tcp.db.sql<Row[]>`
    select i.id, i.name, i.vm_state, i.task_state, i.desired_power_state, f.name as flavor, i.tags, i.metadata, i.generation
      from instances i join flavors f on f.id = i.flavor_id where i.project_id = ${projectId} order by i.name`)
    .map((r) => [(r as Row & { name: string }).name, r]));
const owned = async (projectId = tcp.adminProjectId) =>
  (await tcp.db.sql<{ entry: string }[]>`
    select kind || '/' || name as entry from stack_resources where project_id = ${projectId} and stack = 'demo' order by 1`).map((r) => r.entry);

describe('orrery plan / apply', () => {
  it('plans every resource of a new stack as a create, exits 2, and writes nothing', async () => {
    const file = await writeStack('demo.yaml', demo([WEB_1, WEB_2, OLD_1]));
    const r = await orrery(adminToken, 'plan', '-f', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual([
      '+ flavor/m1.stack-small', '+ flavor/m1.stack-medium', '+ key-pair/ops', '+ server-group/web',
      '+ instance/web-1', '+ instance/web-2', '+ instance/old-1',
      'Plan: 7 to create, 0 to change, 0 to replace, 0 to delete.',
    ]);
    expect(await instances()).toEqual({});
    expect(await owned()).toEqual([]);
    expect((await tcp.db.sql`select 1 from flavors where name like 'm1.stack-%'`).length).toBe(0);
  });

  it('applies it: creates everything, records the stack, and follows the instances to ACTIVE', async () => {
    const file = await writeStack('demo.yaml', demo([WEB_1, WEB_2, OLD_1]));
    const r = await orrery(adminToken, 'apply', '-f', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^instance web-1: ACTIVE$/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('Apply complete: stack demo matches the file.');
    const rows = await instances();
    expect(Object.keys(rows)).toEqual(['old-1', 'web-1', 'web-2']);
    for (const i of Object.values(rows)) expect(i).toMatchObject({ vm_state: 'active', task_state: null, flavor: 'm1.stack-small' });
    expect(rows['web-1']).toMatchObject({ tags: ['a'], metadata: expect.objectContaining({ role: 'web' }) });
    const [member] = await tcp.db.sql`
      select g.name from server_group_members m join server_groups g on g.id = m.group_id where m.instance_id = ${rows['web-1']!.id}`;
    expect(member!.name).toBe('web');
    expect(await owned()).toEqual([
      'flavor/m1.stack-medium', 'flavor/m1.stack-small', 'instance/old-1', 'instance/web-1', 'instance/web-2', 'keyPair/ops', 'serverGroup/web',
    ]);
  });

  it('finds nothing to do the second time: plan exits 0 and apply changes nothing', async () => {
    const file = await writeStack('demo.yaml', demo([WEB_1, WEB_2, OLD_1]));
    const before = await instances();
    const plan = await orrery(adminToken, 'plan', '-f', file);
    expect([plan.code, plan.stdout]).toEqual([0, 'No changes: stack demo matches the file.\n']);
    const apply = await orrery(adminToken, 'apply', '-f', file);
    expect([apply.code, apply.stdout]).toEqual([0, 'No changes: stack demo matches the file.\n']);
    expect(await instances()).toEqual(before);
  });

  it('plans power state, tags and flavor changes as ~ with each field, and apply converges', async () => {
    const file = await writeStack('demo.yaml', demo([
      { ...WEB_1, powerState: 'stopped', tags: ['a', 'b'] }, { ...WEB_2, flavor: 'm1.stack-medium' }, OLD_1,
    ]));
    const plan = await orrery(adminToken, 'plan', '-f', file);
    expect(plan.code).toBe(2);
    expect(plan.stdout.trim().split('\n')).toEqual([
      '~ instance/web-1 (powerState: running → stopped; tags: [a] → [a, b])',
      '~ instance/web-2 (flavor: m1.stack-small → m1.stack-medium)',
      'Plan: 0 to create, 2 to change, 0 to replace, 0 to delete.',
    ]);
    const apply = await orrery(adminToken, 'apply', '-f', file);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^instance\/web-2: resize confirmed$/m);
    const rows = await instances();
    expect(rows['web-1']).toMatchObject({ vm_state: 'stopped', task_state: null, desired_power_state: 'stopped', tags: ['a', 'b'] });
    expect(rows['web-2']).toMatchObject({ vm_state: 'active', task_state: null, flavor: 'm1.stack-medium' });
    const [move] = await tcp.db.sql`select status from migrations where instance_id = ${rows['web-2']!.id}`;
    expect(move!.status).toBe('confirmed');
    expect((await orrery(adminToken, 'plan', '-f', file)).code).toBe(0);
  });

  it('keeps an instance dropped from the file unless --prune, which deletes it', async () => {
    const file = await writeStack('demo.yaml', demo([{ ...WEB_1, powerState: 'stopped', tags: ['a', 'b'] }, { ...WEB_2, flavor: 'm1.stack-medium' }]));
    const plan = await orrery(adminToken, 'plan', '-f', file);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^ {2}instance\/old-1: owned by the stack but no longer in the file; kept \(apply --prune deletes it\)$/m);
    const keep = await orrery(adminToken, 'apply', '-f', file);
    expect(keep.code).toBe(0);
    expect(Object.keys(await instances())).toEqual(['old-1', 'web-1', 'web-2']);

    const prunePlan = await orrery(adminToken, 'plan', '-f', file, '--prune');
    expect(prunePlan.code).toBe(2);
    expect(prunePlan.stdout.trim().split('\n')).toEqual(['- instance/old-1', 'Plan: 0 to create, 0 to change, 0 to replace, 1 to delete.']);
    const prune = await orrery(adminToken, 'apply', '-f', file, '--prune');
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(/^instance old-1: deleted$/m);
    expect(Object.keys(await instances())).toEqual(['web-1', 'web-2']);
    expect(await owned()).not.toContain('instance/old-1');
  });

  it('replaces an instance and a key pair whose creation-time fields changed, updates a zone in place, and with --no-wait returns at once', async () => {
    const web1 = { ...WEB_1, powerState: 'stopped', tags: ['a', 'b'] };
    const web2 = { ...WEB_2, flavor: 'm1.stack-medium' };
    const withZone = (description: string, userData?: string, publicKey = KEY, hosts = ['stack-1']) => ({
      ...demo([web1, userData ? { ...web2, userData } : web2]),
      availabilityZones: [{ name: 'az-stack', description }],
      aggregates: [{ name: 'fast', hosts, metadata: { ssd: 'true' } }],
      keyPairs: [{ name: 'ops', publicKey }],
    });
    const first = await orrery(adminToken, 'apply', '-f', await writeStack('zone.yaml', withZone('rack 1')));
    expect([first.code, first.stdout.split('\n')[0]]).toEqual([0, '+ zone/az-stack']);
    const oldWeb2 = (await instances())['web-2']!.id;

    const newKey = generateSshKeyPair('ops@new').publicKey;
    const file = await writeStack('zone.yaml', withZone('rack 2', '#cloud-config', newKey, ['stack-2', 'stack-1']));
    const plan = await orrery(adminToken, 'plan', '-f', file);
    expect(plan.code).toBe(2);
    expect(plan.stdout.trim().split('\n')).toEqual([
      '~ zone/az-stack (description: rack 1 → rack 2)',
      '~ aggregate/fast (hosts: [stack-1] → [stack-1, stack-2])',
      `-/+ key-pair/ops (publicKey: ${KEY.slice(0, 20)}…${KEY.slice(-24)} → ${newKey.slice(0, 20)}…${newKey.slice(-24)})`,
      '-/+ instance/web-2 (userData: (none) → #cloud-config)',
      'Plan: 0 to create, 2 to change, 2 to replace, 0 to delete.',
    ]);
    const apply = await orrery(adminToken, 'apply', '-f', file, '--no-wait');
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).not.toMatch(/^instance web-2: /m);
    const [zone] = await tcp.db.sql`select description from availability_zones where name = 'az-stack'`;
    expect(zone!.description).toBe('rack 2');
    const members = await tcp.db.sql`
      select h.name from aggregate_hosts ah join aggregates a on a.id = ah.aggregate_id join hosts h on h.id = ah.host_id
       where a.name = 'fast' order by h.name`;
    expect(members.map((m) => m.name)).toEqual(['stack-1', 'stack-2']);
    const [key] = await tcp.db.sql`select k.public_key from key_pairs k join users u on u.id = k.user_id where u.name = 'admin' and k.name = 'ops'`;
    expect(key!.public_key).toBe(newKey);
    const [record] = await tcp.db.sql`
      select resource_id, applied from stack_resources where project_id = ${tcp.adminProjectId} and stack = 'demo' and name = 'web-2'`;
    expect(record!.resource_id).not.toBe(oldWeb2);
    expect(record!.applied).toMatchObject({ userData: '#cloud-config' });
    const [made] = await tcp.db.sql`select user_data from instances where id = ${record!.resource_id}`;
    expect(made!.user_data).toBe('#cloud-config');
    await waitFor('old web-2 gone, new one active', instances, (rows) => rows['web-2']?.id === record!.resource_id && rows['web-2'].vm_state === 'active');
    expect((await tcp.db.sql`select 1 from instances where id = ${oldWeb2}`).length).toBe(0);
    expect((await orrery(adminToken, 'plan', '-f', file)).code).toBe(0);
  });

  it('refuses a bad file naming file:line and field, and writes nothing', async () => {
    const before = [await instances(), await owned()];
    const wrongType = await writeStack('wrong-type.yaml', [
      'apiVersion: orrery/v1', 'kind: Stack', 'metadata:', '  name: demo', 'instances:',
      '  - name: web-9', '    flavor: m1.stack-small', '    image: cirros', '    powerState: sleeping', '',
    ].join('\n'));
    const bad = await orrery(adminToken, 'apply', '-f', wrongType);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`error: ${wrongType} is not a valid stack document\n  ${wrongType}:9: instances[0].powerState: must be one of running, stopped, paused, suspended\n`);

    const unknown = await writeStack('unknown.yaml', {
      ...demo([WEB_1, WEB_2, { name: 'web-3', flavor: 'm9.huge', image: 'nope' }]), aggregates: [{ name: 'slow', hosts: ['stack-1', 'no-such-host'] }],
    });
    const refs = await orrery(adminToken, 'plan', '-f', unknown);
    expect(refs.code).toBe(1);
    expect(refs.stderr).toMatch(/:\d+: instances\[2\]\.flavor: flavor "m9.huge" not found \(neither in the file nor visible to you\)$/m);
    expect(refs.stderr).toMatch(/:\d+: instances\[2\]\.image: image "nope" not found/m);
    expect(refs.stderr).toMatch(/:\d+: aggregates\[0\]\.hosts\[1\]: host "no-such-host" not found$/m);

    const twice = await writeStack('twice.yaml', demo([WEB_1, WEB_2, { ...WEB_2 }]));
    const dup = await orrery(adminToken, 'apply', '-f', twice);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(new RegExp(`${twice}:\\d+: instances\\[2\\]\\.name: repeats the name "web-2" \\(first at ${twice}:\\d+\\)`));
    const grown = demo([WEB_1, WEB_2]);
    grown.flavors[0]!.vcpus = 2;
    const fixed = await orrery(adminToken, 'apply', '-f', await writeStack('grown.yaml', grown));
    expect(fixed.code).toBe(1);
    expect(fixed.stderr).toMatch(/grown\.yaml:\d+: flavors\[0\]: flavor m1\.stack-small cannot change \(vcpus: 1 → 2\); give the new one another name$/m);
    expect((await tcp.db.sql`select vcpus from flavors where name = 'm1.stack-small'`)[0]!.vcpus).toBe(1);
    expect([await instances(), await owned()]).toEqual(before);
  });

  it('never adopts a same-named resource it does not own: plan and apply say it conflicts', async () => {
    await createInstance(tcp.admin, { name: 'loner', flavor: 'm1.outside', image: 'cirros' });
    const file = await writeStack('conflict.yaml', demo([{ ...WEB_1, powerState: 'stopped', tags: ['a', 'b'] }, { ...WEB_2, flavor: 'm1.stack-medium' }, { name: 'loner', flavor: 'm1.stack-small', image: 'cirros' }]));
    const r = await orrery(adminToken, 'apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/instances\[2\]\.name: instance "loner" exists and is not owned by stack demo/);
    const loner = await tcp.db.sql`select f.name from instances i join flavors f on f.id = i.flavor_id where i.name = 'loner'`;
    expect(loner.map((l) => l.name)).toEqual(['m1.outside']);
    expect(await owned()).not.toContain('instance/loner');
  });

  it('ends with exit 1 and the fault when an instance does not come up; what was created stays recorded', async () => {
    const file = await writeStack('doomed.yaml', { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 'doom' }, instances: [{ name: 'doomed-1', flavor: 'm1.outside', image: 'cirros' }] });
    const r = await orrery(adminToken, 'apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^instance doomed-1: ERROR$/m);
    const [row] = await tcp.db.sql<{ id: string; vm_state: string; fault: { message: string } }[]>`select id, vm_state, fault from instances where name = 'doomed-1'`;
    expect(row!.vm_state).toBe('error');
    expect(r.stderr).toContain(`error: apply did not finish\n  instance/doomed-1: instance doomed-1 is ERROR: ${row!.fault.message}\n`);
    const [record] = await tcp.db.sql`select resource_id from stack_resources where stack = 'doom' and name = 'doomed-1'`;
    expect(record!.resource_id).toBe(row!.id);
  });

  it("keeps stacks per project: another project neither sees nor can claim this one's resources", async () => {
    const seen = await alice.client.request(`{ stack(name: "demo") { name } }`);
    expect(seen.stack).toBeNull();
    const file = await writeStack('alice.yaml', { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 'demo' }, instances: [WEB_2] });
    const plan = await orrery(alice.token, 'plan', '-f', file);
    expect([plan.code, plan.stdout]).toEqual([2, '+ instance/web-2\nPlan: 1 to create, 0 to change, 0 to replace, 0 to delete.\n']);

    const adminWeb2 = (await instances())['web-2']!.id;
    const claim = await alice.client.request(
      `mutation($i: StackResourceInput!) { recordStackResource(input: $i) { __typename ... on NotFoundError { field } } }`,
      { i: { stack: 'demo', kind: 'instance', name: 'web-2', resourceId: adminWeb2, applied: WEB_2 } },
    );
    expect(claim.recordStackResource).toEqual({ __typename: 'NotFoundError', field: 'input.resourceId' });
    expect(await owned(alice.projectId)).toEqual([]);
    expect(await instances(alice.projectId)).toEqual({});
  });

  it('deletes the whole stack when a file naming nothing is applied with --prune, and nothing it does not own', async () => {
    const file = await writeStack('empty.yaml', { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 'demo' } });
    const r = await orrery(adminToken, 'apply', '-f', file, '--prune');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('- '))).toEqual([
      '- flavor/m1.stack-medium', '- flavor/m1.stack-small', '- zone/az-stack', '- aggregate/fast', '- key-pair/ops', '- server-group/web', '- instance/web-1', '- instance/web-2',
    ]);
    expect(Object.keys(await instances())).toEqual(['doomed-1', 'loner']);
    expect(await owned()).toEqual([]);
    expect((await tcp.db.sql`select name from flavors order by name`).map((f) => f.name)).toEqual(['m1.outside']);
    expect((await tcp.db.sql`
      select 1 from server_groups union all select 1 from key_pairs union all select 1 from aggregates
      union all select 1 from availability_zones where name = 'az-stack'`).length).toBe(0);
  });
});
