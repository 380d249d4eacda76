import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage, updateInstance } from './support/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));
const run = promisify(execFile);

let tcp: TestControlPlane;
let alice: { client: OrreryClient; projectId: string; userId: string };
let cwd: string;

// No worker: tags are spec only, nothing has to be built for them.
beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'orrery-tags-test-'));
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  alice = await tcp.userClient('tags-red', 'tags-alice', ['member']);
});
afterAll(async () => {
  await tcp?.stop();
  await rm(cwd, { recursive: true, force: true });
});

const tagsOf = async (id: string) => (await tcp.db.sql<{ tags: string[] }[]>`select tags from instances where id = ${id}`)[0]!.tags;

async function make(client: OrreryClient, name: string, tags: string[]): Promise<string> {
  const r = await createInstance(client, { name, flavor: 'm1.small', image: 'test-image', tags });
  if (r.__typename !== 'CreateInstanceSuccess') throw new Error(r.message);
  return r.instance.id;
}

/** Names of the caller's instances that pass the filter, sorted. */
async function listed(client: OrreryClient, filter: Record<string, unknown>, allProjects = false): Promise<string[]> {
  const d = await client.request(
    `query($f: InstanceFilter, $all: Boolean) { instances(first: 100, filter: $f, allProjects: $all) { edges { node { name tags } } } }`,
    { f: filter, all: allProjects },
  );
  return (d.instances.edges as { node: { name: string } }[]).map((e) => e.node.name).sort();
}

async function counts() {
  const [r] = await tcp.db.sql<{ instances: number; actions: number; jobs: number }[]>`
    select (select count(*)::int from instances) as instances, (select count(*)::int from instance_actions) as actions,
           (select count(*)::int from graphile_worker.jobs) as jobs`;
  return r!;
}

describe('instance tags', () => {
  it('are set on create as a set: duplicates collapse, first order kept', async () => {
    const id = await make(alice.client, 'tagged-1', ['web', 'prod', 'web', 'eu']);
    expect(await tagsOf(id)).toEqual(['web', 'prod', 'eu']);
    const d = await alice.client.request(`query($id: ID!) { instance(id: $id) { tags } }`, { id });
    expect(d.instance.tags).toEqual(['web', 'prod', 'eu']);
  });

  it('are replaced as a whole by an update, which leaves the rest of the spec alone', async () => {
    const id = await make(alice.client, 'tagged-2', ['a', 'b']);
    const before = (await tcp.db.sql<{ generation: number; name: string; metadata: object }[]>`
      select generation, name, metadata from instances where id = ${id}`)[0]!;
    const r = await updateInstance(alice.client, id, { tags: ['c', 'c', 'a'] });
    expect(r.__typename).toBe('UpdateInstanceSuccess');
    expect(await tagsOf(id)).toEqual(['c', 'a']);
    const after = (await tcp.db.sql<{ generation: number; name: string; metadata: object }[]>`
      select generation, name, metadata from instances where id = ${id}`)[0]!;
    expect(after).toEqual({ ...before, generation: before.generation + 1 });
    const actions = await tcp.db.sql<{ action: string }[]>`select action from instance_actions where instance_id = ${id} order by started_at`;
    expect(actions.map((a) => a.action)).toEqual(['create', 'update']);

    // The same set again is no change at all; an empty list clears it.
    expect((await updateInstance(alice.client, id, { tags: ['c', 'a'] })).instance.generation).toBe(before.generation + 1);
    await updateInstance(alice.client, id, { tags: [] });
    expect(await tagsOf(id)).toEqual([]);
  });

  it("filters the listing as Nova's tags, tags-any, not-tags and not-tags-any do", async () => {
    await make(alice.client, 'f-web-prod', ['web', 'prod']);
    await make(alice.client, 'f-web-dev', ['web', 'dev']);
    await make(alice.client, 'f-db-prod', ['db', 'prod']);
    await make(alice.client, 'f-none', []);
    const only = (names: string[]) => names.filter((n) => n.startsWith('f-'));
    expect(only(await listed(alice.client, { tags: ['web', 'prod'] }))).toEqual(['f-web-prod']);
    expect(only(await listed(alice.client, { tags: ['web'] }))).toEqual(['f-web-dev', 'f-web-prod']);
    expect(only(await listed(alice.client, { tagsAny: ['dev', 'db'] }))).toEqual(['f-db-prod', 'f-web-dev']);
    // not-tags excludes only instances carrying all of them together.
    expect(only(await listed(alice.client, { notTags: ['web', 'prod'] }))).toEqual(['f-db-prod', 'f-none', 'f-web-dev']);
    expect(only(await listed(alice.client, { notTagsAny: ['web', 'db'] }))).toEqual(['f-none']);
    expect(only(await listed(alice.client, { tags: ['prod'], notTagsAny: ['db'] }))).toEqual(['f-web-prod']);
    // An empty list is no filter, not "nothing matches".
    expect(only(await listed(alice.client, { tags: [], notTags: [] }))).toEqual(['f-db-prod', 'f-none', 'f-web-dev', 'f-web-prod']);
  });

  it("leaves project isolation as it was: another project's tagged instance stays out of sight", async () => {
    await make(tcp.admin, 'admin-shared-tag', ['shared-tag']);
    await make(alice.client, 'alice-shared-tag', ['shared-tag']);
    expect(await listed(alice.client, { tags: ['shared-tag'] })).toEqual(['alice-shared-tag']);
    expect(await listed(tcp.admin, { tags: ['shared-tag'] })).toEqual(['admin-shared-tag']);
    expect(await listed(tcp.admin, { tags: ['shared-tag'] }, true)).toEqual(['admin-shared-tag', 'alice-shared-tag']);
    // A member cannot widen the scope by asking for all projects.
    await expect(
      alice.client.request(`query { instances(first: 10, allProjects: true, filter: {tags: ["shared-tag"]}) { edges { node { name } } } }`),
    ).rejects.toThrow(/listing all projects/);
  });

  it.each([
    ['a slash', ['a', 'b', 'c', 'd/e'], 'input.tags.3'],
    ['a comma', ['x,y'], 'input.tags.0'],
    ['an empty tag', ['ok', ''], 'input.tags.1'],
    ['61 characters', ['t'.repeat(61)], 'input.tags.0'],
    ['51 tags', Array.from({ length: 51 }, (_, i) => `t${i}`), 'input.tags'],
  ])('refuses a tag with %s on create, naming it and writing nothing', async (_what, tags, field) => {
    const before = await counts();
    const r = await createInstance(alice.client, { name: 'bad-tags', flavor: 'm1.small', image: 'test-image', tags });
    expect([r.__typename, r.field]).toEqual(['ValidationError', field]);
    expect(await counts()).toEqual(before);
  });

  it('refuses a bad tag on update and leaves the instance as it was', async () => {
    const id = await make(alice.client, 'tagged-3', ['keep']);
    const before = await counts();
    const [row] = await tcp.db.sql`select generation, tags, revision from instances where id = ${id}`;
    const d = await alice.client.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: {tags: ["fine", "no/slash"], name: "renamed"}) {
         __typename ... on ValidationError { field message } } }`,
      { id },
    );
    expect(d.updateInstance).toMatchObject({ __typename: 'ValidationError', field: 'input.tags.1' });
    expect(await counts()).toEqual(before);
    expect((await tcp.db.sql`select generation, tags, revision from instances where id = ${id}`)[0]).toEqual(row);
  });

  it('the CLI creates with --tag, filters with --tag and describes the tags', async () => {
    const token = (await issueToken(tcp.db.sql, { kind: 'user', userId: alice.userId, projectId: alice.projectId })).secret;
    const env = { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: token };
    const orrery = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd, env });
    await orrery('create', 'instance', 'cli-tagged', '--flavor', 'm1.small', '--image', 'test-image', '--tag', 'blue', '--tag', 'green');
    await orrery('create', 'instance', 'cli-blue', '--flavor', 'm1.small', '--image', 'test-image', '--tag', 'blue');
    const [row] = await tcp.db.sql<{ tags: string[]; project_id: string }[]>`select tags, project_id from instances where name = 'cli-tagged'`;
    expect(row).toEqual({ tags: ['blue', 'green'], project_id: alice.projectId });
    const list = await orrery('get', 'instances', '--tag', 'blue', '--tag', 'green', '-o', 'json');
    expect((JSON.parse(list.stdout) as { name: string; tags: string[] }[]).map((i) => [i.name, i.tags])).toEqual([['cli-tagged', ['blue', 'green']]]);
    const described = await orrery('describe', 'instance', 'cli-tagged');
    expect(described.stdout).toMatch(/^ {2}Tags: +blue,green$/m);
  });
});
