import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';

let tcp: TestControlPlane;
let dataDir: string;
const users: Record<string, { client: OrreryClient; projectId: string; userId: string; token: string }> = {};

const RESULT = `__typename
  ... on Error { message }
  ... on ValidationError { field }
  ... on NotFoundError { missing: field }`;
const IMAGE = `image { id name status visibility ownerProjectId sizeBytes checksum fileUrl }`;

const bytes = Buffer.from('QFI\xfb pretend this is a qcow2 disk image '.repeat(5000), 'latin1');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'orrery-images-test-'));
  tcp = await startTestControlPlane({ worker: false, config: { dataDir } });
  for (const [name, project, roles] of [
    ['alice', 'red', ['member']],
    ['rita', 'red', ['reader']],
    ['bob', 'blue', ['member']],
  ] as const) {
    const u = await tcp.userClient(project, name, [...roles]);
    users[name] = { ...u, token: await tokenFor(u.userId, u.projectId) };
  }
});
afterAll(async () => {
  await tcp.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** userClient keeps its secret to itself; a second token lets the test speak plain HTTP too. */
async function tokenFor(userId: string, projectId: string): Promise<string> {
  return (await issueToken(tcp.db.sql, { kind: 'user', userId, projectId })).secret;
}

async function createImage(client: OrreryClient, input: Record<string, unknown>) {
  const r = await client.request(`mutation($input: ImageInput!) { createImage(input: $input) { ${RESULT} ... on CreateImageSuccess { ${IMAGE} } } }`, { input });
  return r.createImage;
}

function put(id: string, token: string, body: Buffer) {
  return fetch(`${tcp.url}/images/${id}/file`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body,
  });
}

function get(id: string, token: string | null) {
  return fetch(`${tcp.url}/images/${id}/file`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function imageRow(id: string) {
  const [row] = await tcp.db.sql<{ status: string; size_bytes: number | null; checksum: string | null }[]>`
    select status, size_bytes, checksum from images where id = ${id}`;
  return row;
}

const storeFiles = async () => (await readdir(path.join(dataDir, 'images')).catch(() => [])).sort();

/** An active image of alice's project, uploaded without a declared checksum. */
async function activeImage(name: string, visibility?: string, client = users.alice!.client, token = users.alice!.token) {
  const created = await createImage(client, { name, diskFormat: 'qcow2', ...(visibility ? { visibility } : {}) });
  const res = await put(created.image.id, token, bytes);
  expect(res.status).toBe(200);
  return created.image.id as string;
}

describe('image catalogue and files', () => {
  it('creates a queued image, accepts a file matching the declared checksum and serves it back', async () => {
    const created = await createImage(users.alice!.client, { name: 'cirros', diskFormat: 'qcow2', checksum: sha256(bytes), minRamMb: 64 });
    expect(created).toMatchObject({ __typename: 'CreateImageSuccess', image: { status: 'queued', visibility: 'private', ownerProjectId: users.alice!.projectId } });
    const id = created.image.id as string;
    expect(created.image.fileUrl).toBe(`/images/${id}/file`);

    const res = await put(id, users.alice!.token, bytes);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'active', sizeBytes: bytes.length, checksum: sha256(bytes) });
    expect(await imageRow(id)).toEqual({ status: 'active', size_bytes: bytes.length, checksum: sha256(bytes) });
    expect(await storeFiles()).toEqual([id]);
    expect((await readFile(path.join(dataDir, 'images', id))).equals(bytes)).toBe(true);

    const down = await get(id, users.rita!.token);
    expect(down.status).toBe(200);
    expect(down.headers.get('content-length')).toBe(String(bytes.length));
    expect(down.headers.get('x-image-checksum')).toBe(`sha256:${sha256(bytes)}`);
    expect(Buffer.from(await down.arrayBuffer()).equals(bytes)).toBe(true);

    const again = await put(id, users.alice!.token, bytes);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: expect.stringMatching(/active/) });
  });

  it('refuses a file that does not match the declared checksum, keeping nothing', async () => {
    const created = await createImage(users.alice!.client, { name: 'declared', diskFormat: 'raw', checksum: sha256(Buffer.from('other')) });
    const id = created.image.id as string;
    const before = await storeFiles();
    const res = await put(id, users.alice!.token, bytes);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: expect.stringContaining('checksum mismatch'), actual: sha256(bytes) });
    expect(await imageRow(id)).toEqual({ status: 'queued', size_bytes: null, checksum: sha256(Buffer.from('other')) });
    expect(await storeFiles()).toEqual(before);
    expect((await get(id, users.alice!.token)).status).toBe(409);

    const right = await put(id, users.alice!.token, Buffer.from('other'));
    expect(right.status).toBe(200);
    expect((await imageRow(id))!.status).toBe('active');
  });

  it('forgets an upload the client abandons halfway: queued again, no file kept', async () => {
    const id = (await createImage(users.alice!.client, { name: 'abandoned', diskFormat: 'raw' })).image.id as string;
    const before = await storeFiles();
    const req = request(`${tcp.url}/images/${id}/file`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${users.alice!.token}`, 'content-length': String(bytes.length * 2) },
    });
    req.on('error', () => {});
    req.write(bytes);
    await vi.waitFor(async () => expect((await imageRow(id))!.status).toBe('saving'));
    req.destroy();
    await vi.waitFor(async () => expect((await imageRow(id))!.status).toBe('queued'));
    expect(await storeFiles()).toEqual(before);
    expect((await put(id, users.alice!.token, bytes)).status).toBe(200);
  });

  it('keeps private images to their project and lets only admins publish', async () => {
    const priv = await activeImage('secret');
    const { images } = await users.bob!.client.request(`{ images { id } }`);
    expect(images.map((i: { id: string }) => i.id)).not.toContain(priv);
    expect((await users.bob!.client.request(`{ image(ref: "${priv}") { id } }`)).image).toBeNull();
    expect((await users.bob!.client.request(`{ image(ref: "secret") { id } }`)).image).toBeNull();
    expect((await get(priv, users.bob!.token)).status).toBe(404);
    expect((await put(priv, users.bob!.token, bytes)).status).toBe(404);
    const del = await users.bob!.client.request(`mutation { deleteImage(ref: "${priv}") { ${RESULT} } }`);
    expect(del.deleteImage).toMatchObject({ __typename: 'NotFoundError' });
    expect(await imageRow(priv)).toMatchObject({ status: 'active' });

    const refused = await createImage(users.alice!.client, { name: 'shared', diskFormat: 'qcow2', visibility: 'public' });
    expect(refused.__typename).toBe('ForbiddenError');
    const publicId = (await createImage(tcp.admin, { name: 'shared', diskFormat: 'qcow2', visibility: 'public' })).image.id;
    const [admin] = await tcp.db.sql<{ id: string }[]>`select id from users where name = 'admin'`;
    expect((await put(publicId, await tokenFor(admin!.id, tcp.adminProjectId), bytes)).status).toBe(200);
    const seen = await users.bob!.client.request(`{ images { id visibility } }`);
    expect(seen.images).toContainEqual({ id: publicId, visibility: 'public' });
    expect((await get(publicId, users.bob!.token)).status).toBe(200);
    const upd = await users.bob!.client.request(`mutation { updateImage(ref: "${publicId}", input: { name: "mine" }) { ${RESULT} } }`);
    expect(upd.updateImage.__typename).toBe('ForbiddenError');
    const pub = await users.alice!.client.request(`mutation { updateImage(ref: "secret", input: { visibility: "public" }) { ${RESULT} } }`);
    expect(pub.updateImage.__typename).toBe('ForbiddenError');
    const rows = await tcp.db.sql`select name, visibility from images where id in (${publicId}, ${priv}) order by name`;
    expect(rows).toEqual([{ name: 'secret', visibility: 'private' }, { name: 'shared', visibility: 'public' }]);

    const all = await tcp.admin.request(`{ images(allProjects: true) { id } }`);
    expect(all.images.map((i: { id: string }) => i.id)).toContain(priv);
    await expect(users.alice!.client.request(`{ images(allProjects: true) { id } }`)).rejects.toThrow(/image:list_all_projects/);
  });

  it("keeps a move's transfer image out of every user's reach: listing, look-up, delete, boot", async () => {
    const [t] = await tcp.db.sql<{ id: string }[]>`
      insert into images (name, owner_project_id, visibility, disk_format, properties)
      values ('mover-migrate-transfer', ${users.alice!.projectId}, 'private', 'qcow2', ${tcp.db.sql.json({ image_type: 'migration' })})
      returning id`;
    const mine = await activeImage('alice-visible');
    const { images } = await users.alice!.client.request(`{ images { id } }`);
    const ids = images.map((i: { id: string }) => i.id);
    expect(ids).toContain(mine);
    expect(ids).not.toContain(t!.id);
    expect((await users.alice!.client.request(`query($r: String!) { image(ref: $r) { id } }`, { r: t!.id })).image).toBeNull();
    expect((await tcp.admin.request(`query($r: String!) { image(ref: $r, allProjects: true) { id } }`, { r: 'mover-migrate-transfer' })).image).toBeNull();
    const del = await users.alice!.client.request(`mutation($r: String!) { deleteImage(ref: $r) { __typename } }`, { r: t!.id });
    expect(del.deleteImage.__typename).toBe('NotFoundError');
    expect(await tcp.db.sql`select 1 from images where id = ${t!.id}`).toHaveLength(1);
  });

    it('lets a reader read but not write', async () => {
    await expect(users.rita!.client.request(`mutation { createImage(input: { name: "r", diskFormat: "raw" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    const [queued] = await tcp.db.sql<{ id: string }[]>`
      insert into images (name, owner_project_id, disk_format) values ('q', ${users.rita!.projectId}, 'raw') returning id`;
    const res = await put(queued!.id, users.rita!.token, bytes);
    expect(res.status).toBe(403);
    expect(await imageRow(queued!.id)).toEqual({ status: 'queued', size_bytes: null, checksum: null });
    expect(await tcp.db.sql`select 1 from images where name = 'r'`).toHaveLength(0);
  });

  it('rejects bad input naming the field and writes nothing', async () => {
    const before = await tcp.db.sql`select count(*)::int as n from images`;
    expect(await createImage(users.alice!.client, { name: 'x', diskFormat: 'vmdk' })).toMatchObject({ __typename: 'ValidationError', field: 'input.diskFormat' });
    expect(await createImage(users.alice!.client, { name: 'x', diskFormat: 'raw', checksum: 'md5:abc' })).toMatchObject({ field: 'input.checksum' });
    const id = await activeImage('tune');
    const upd = await users.alice!.client.request(`mutation { updateImage(ref: "${id}", input: { name: "tuned", minRamMb: -1 }) { ${RESULT} } }`);
    expect(upd.updateImage).toMatchObject({ __typename: 'ValidationError', field: 'input.minRamMb' });
    const [row] = await tcp.db.sql`select name, min_ram_mb from images where id = ${id}`;
    expect(row).toEqual({ name: 'tune', min_ram_mb: 0 });
    expect(await tcp.db.sql`select count(*)::int as n from images`).toEqual([{ n: before[0]!.n + 1 }]);

    const ok = await users.alice!.client.request(
      `mutation { updateImage(ref: "tune", input: { minRamMb: 128, properties: [{ key: "os", value: "linux" }] }) { ${RESULT} ... on UpdateImageSuccess { image { minRamMb properties { key value } } } } }`,
    );
    expect(ok.updateImage.image).toEqual({ minRamMb: 128, properties: [{ key: 'os', value: 'linux' }] });
  });

  it('answers plain HTTP errors with JSON and the right status', async () => {
    const id = await activeImage('errors');
    const none = await get(id, null);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'missing bearer token' });
    expect((await get(id, 'orr_u_forged')).status).toBe(401);
    expect((await get('not-a-uuid', users.alice!.token)).status).toBe(404);
    expect((await get('00000000-0000-0000-0000-000000000000', users.alice!.token)).status).toBe(404);
  });
});

describe('image files for host agents and deletion', () => {
  it('serves a host only the images of instances bound to it, and refuses deleting an image in use', async () => {
    const bound = await activeImage('bound');
    const unbound = await activeImage('unbound');
    const [host] = await tcp.db.sql<{ id: string }[]>`insert into hosts (name) values ('compute-1') returning id`;
    const [other] = await tcp.db.sql<{ id: string }[]>`insert into hosts (name) values ('compute-2') returning id`;
    const hostToken = (await issueToken(tcp.db.sql, { kind: 'host', hostId: host!.id })).secret;
    const otherToken = (await issueToken(tcp.db.sql, { kind: 'host', hostId: other!.id })).secret;
    const [flavor] = await tcp.db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('small', 1, 512, 1) returning id`;
    await tcp.db.sql`
      insert into instances (project_id, user_id, name, flavor_id, image_id, host_id, vm_state, task_state)
      values (${users.alice!.projectId}, ${users.alice!.userId}, 'vm1', ${flavor!.id}, ${bound}, ${host!.id}, 'building', 'spawning')`;

    const ok = await get(bound, hostToken);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-image-checksum')).toBe(`sha256:${sha256(bytes)}`);
    expect(Buffer.from(await ok.arrayBuffer()).equals(bytes)).toBe(true);
    const notBound = await get(unbound, hostToken);
    expect(notBound.status).toBe(403);
    expect(await notBound.json()).toMatchObject({ error: expect.stringMatching(/no instance bound/) });
    expect((await get(bound, otherToken)).status).toBe(403);
    expect((await put(unbound, hostToken, bytes)).status).toBe(403);

    const inUse = await users.alice!.client.request(`mutation { deleteImage(ref: "${bound}") { ${RESULT} } }`);
    expect(inUse.deleteImage).toMatchObject({ __typename: 'ConflictError', message: expect.stringContaining('1 instance') });
    expect(await storeFiles()).toContain(bound);

    await tcp.db.sql`delete from instances`;
    const gone = await users.alice!.client.request(`mutation { deleteImage(ref: "${bound}") { ${RESULT} ... on DeleteImageSuccess { image { id } } } }`);
    expect(gone.deleteImage).toEqual({ __typename: 'DeleteImageSuccess', image: { id: bound } });
    expect(await imageRow(bound)).toBeUndefined();
    expect(await storeFiles()).not.toContain(bound);
    expect((await get(bound, users.alice!.token)).status).toBe(404);
  });

  it("reads an image's virtual size from its file, and refuses a flavor whose disk cannot hold it, at boot and rebuild", async () => {
    const file = path.join(dataDir, 'three-gib.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '3G']);
    const qcow2 = await readFile(file);
    const big = await createImage(users.alice!.client, { name: 'three-gib', diskFormat: 'qcow2' });
    expect((await put(big.image.id, users.alice!.token, qcow2)).status).toBe(200);
    const raw = await createImage(users.alice!.client, { name: 'raw-one', diskFormat: 'raw' });
    expect((await put(raw.image.id, users.alice!.token, bytes)).status).toBe(200);
    const sizes = await users.alice!.client.request(`{ images { name sizeBytes virtualSizeBytes } }`);
    const byName = Object.fromEntries(sizes.images.map((i: { name: string }) => [i.name, i]));
    expect(byName['three-gib']).toEqual({ name: 'three-gib', sizeBytes: qcow2.length, virtualSizeBytes: 3 * 1024 ** 3 });
    expect(byName['raw-one']).toMatchObject({ virtualSizeBytes: bytes.length });
    // Not a qcow2 header after all (the other tests' pretend image): unknown, never a made-up size.
    const pretend = await activeImage('pretend');
    expect(await tcp.db.sql`select virtual_size_bytes from images where id = ${pretend}`).toEqual([{ virtual_size_bytes: null }]);

    for (const [name, disk] of [['disk-2', 2], ['disk-4', 4], ['disk-0', 0]] as const) {
      await tcp.admin.request(`mutation($n: String!, $d: Int!) { createFlavor(input: { name: $n, vcpus: 1, ramMb: 256, diskGb: $d }) { __typename } }`, { n: name, d: disk });
    }
    const boot = (flavor: string) => users.alice!.client.request(
      `mutation($i: CreateInstanceInput!) { createInstance(input: $i) { ${RESULT} ... on CreateInstanceSuccess { instance { id } } } }`,
      { i: { name: `on-${flavor}`, flavor, image: 'three-gib' } });
    const refused = await boot('disk-2');
    expect(refused.createInstance).toEqual({
      __typename: 'ValidationError', field: 'input.flavor',
      message: expect.stringContaining('flavor disk-2 has a 2 GiB disk, smaller than image three-gib (3 GiB virtual size)'),
    });
    expect(await tcp.db.sql`select name from instances where name = 'on-disk-2'`).toEqual([]);
    // Big enough, or 0 GiB (the image's own size, as in Nova): accepted.
    expect((await boot('disk-4')).createInstance.__typename).toBe('CreateInstanceSuccess');
    expect((await boot('disk-0')).createInstance.__typename).toBe('CreateInstanceSuccess');

    // A rebuild of a 2 GiB instance onto it is refused the same way, and changes nothing.
    const small = await users.alice!.client.request(
      `mutation($i: CreateInstanceInput!) { createInstance(input: $i) { ... on CreateInstanceSuccess { instance { id } } } }`,
      { i: { name: 'small-one', flavor: 'disk-2', image: 'raw-one' } });
    const id = small.createInstance.instance.id;
    const before = await tcp.db.sql`select image_id, generation, task_state from instances where id = ${id}`;
    await tcp.db.sql`update instances set vm_state = 'active', task_state = null where id = ${id}`;
    const rebuilt = await users.alice!.client.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: { image: "three-gib" }) { ${RESULT} } }`, { id });
    expect(rebuilt.updateInstance).toMatchObject({ __typename: 'ValidationError', field: 'input.image', message: expect.stringContaining('3 GiB virtual size') });
    expect(await tcp.db.sql`select image_id, generation from instances where id = ${id}`).toEqual([{ image_id: before[0]!.image_id, generation: before[0]!.generation }]);
    await tcp.db.sql`delete from instances`;
  });
});
