import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureOverlay, inspectImage } from '../hostagent/drivers/libvirt/disk.ts';
import { ImageCache, type ImageRef } from '../hostagent/image-cache.ts';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A blob store on 127.0.0.1: GET /<name> serves a registered body and counts requests. */
const blobs = new Map<string, Buffer>();
const requests = new Map<string, number>();
let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = req.url!.slice(1);
    requests.set(name, (requests.get(name) ?? 0) + 1);
    const body = blobs.get(name);
    if (!body) return void res.writeHead(404).end();
    if (name.startsWith('truncated')) {
      // Promise the whole body, send half, drop the connection.
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length / 2), () => res.destroy());
      return;
    }
    // Slow enough that concurrent callers overlap with the download.
    setTimeout(() => res.end(body), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-images-'));
  return () => rm(dir, { recursive: true, force: true });
});

function serve(id: string, body: Buffer): ImageRef {
  blobs.set(id, body);
  return { id, checksum: sha256(body), diskFormat: 'raw' };
}
const viaFetch = (name: string) => async () => (await fetch(`${base}/${name}`)).body!;
const viaHttpGet = (name: string) => () =>
  new Promise<NodeJS.ReadableStream>((resolve, reject) => get(`${base}/${name}`, resolve).on('error', reject));

describe('ImageCache', () => {
  it('downloads once, verifies and dedupes concurrent callers', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const image = serve('img-concurrent', body);
    const cache = new ImageCache(dir);
    const paths = await Promise.all([1, 2, 3].map(() => cache.ensure(image, viaFetch(image.id))));
    expect(new Set(paths)).toEqual(new Set([cache.pathOf(image.id)]));
    expect(requests.get(image.id)).toBe(1);
    expect(sha256(await readFile(paths[0]!))).toBe(image.checksum);

    await cache.ensure(image, viaFetch(image.id));
    expect(requests.get(image.id)).toBe(1);
    expect(await readdir(dir)).toEqual([image.id]);
  });

  it('accepts a Node stream as well as a web stream', async () => {
    const image = serve('img-node-stream', randomBytes(100_000));
    const file = await new ImageCache(dir).ensure(image, viaHttpGet(image.id));
    expect(sha256(await readFile(file))).toBe(image.checksum);
  });

  it('refuses a download whose checksum does not match, leaving nothing behind', async () => {
    const image = { ...serve('img-corrupt', randomBytes(10_000)), checksum: sha256(Buffer.from('other')) };
    const cache = new ImageCache(dir);
    await expect(cache.ensure(image, viaFetch(image.id))).rejects.toMatchObject({
      code: 'image_checksum_mismatch',
    });
    expect(await readdir(dir)).toEqual([]);

    // A later call downloads again rather than trusting anything from the failed one.
    blobs.set(image.id, Buffer.from('other'));
    await cache.ensure(image, viaFetch(image.id));
    expect(requests.get(image.id)).toBe(2);
  });

  it('leaves nothing behind when the download breaks off', async () => {
    const image = serve('truncated-img', randomBytes(1024 * 1024));
    await expect(new ImageCache(dir).ensure(image, viaFetch(image.id))).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });

  it('prune removes unused images and leftovers of interrupted downloads', async () => {
    const cache = new ImageCache(dir);
    const used = serve('img-used', randomBytes(1000));
    const unused = serve('img-unused', randomBytes(1000));
    await cache.ensure(used, viaFetch(used.id));
    await cache.ensure(unused, viaFetch(unused.id));
    await writeFile(path.join(dir, 'img-crashed.part-deadbeef'), 'half');
    expect(await cache.prune([used.id])).toEqual([unused.id]);
    expect(await readdir(dir)).toEqual([used.id]);
  });

  it('rejects image ids that would escape its folder', () => {
    expect(() => new ImageCache(dir).pathOf('../etc')).toThrow(/bad image id/);
  });

  describe('with qemu-img inspection', () => {
    const qcow2 = async (name: string, ...extra: string[]) => {
      const file = path.join(os.tmpdir(), `${name}-${process.pid}.qcow2`);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', ...extra, file, '16M']);
      const body = await readFile(file);
      await rm(file);
      return body;
    };

    it('accepts an image that is what its record says', async () => {
      const image: ImageRef = { ...serve('img-qcow2', await qcow2('plain')), diskFormat: 'qcow2' };
      await new ImageCache(dir, { inspect: inspectImage }).ensure(image, viaFetch(image.id));
    });

    it('refuses a qcow2 declared as raw and a qcow2 naming a backing file', async () => {
      const cache = new ImageCache(dir, { inspect: inspectImage });
      const disguised = serve('img-disguised', await qcow2('disguised'));
      await expect(cache.ensure(disguised, viaFetch(disguised.id))).rejects.toMatchObject({
        code: 'image_invalid',
        details: expect.stringMatching(/not the raw/),
      });
      const backed: ImageRef = {
        ...serve('img-backed', await qcow2('backed', '-b', '/etc/hostname', '-F', 'raw')),
        diskFormat: 'qcow2',
      };
      await expect(cache.ensure(backed, viaFetch(backed.id))).rejects.toMatchObject({ code: 'image_invalid' });
      expect(await readdir(dir)).toEqual([]);
    });

    it("builds a disk the flavor's size on an image, refuses an image larger than the flavor's disk, and a 0 GiB flavor takes the image's size", async () => {
      const image = path.join(dir, 'image.qcow2');
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '2G']);
      const size = async (file: string) => JSON.parse((await run('qemu-img', ['info', '--output=json', file])).stdout)['virtual-size'];
      const disk = (name: string) => path.join(dir, name);
      await ensureOverlay({ path: disk('fits'), backingPath: image, backingFormat: 'qcow2', sizeGb: 3 });
      expect(await size(disk('fits'))).toBe(3 * 1024 ** 3);
      await expect(ensureOverlay({ path: disk('small'), backingPath: image, backingFormat: 'qcow2', sizeGb: 1 })).rejects.toMatchObject({
        code: 'flavor_disk_too_small', message: "the flavor's 1 GiB disk is smaller than the image (2.00 GiB virtual size)",
      });
      await ensureOverlay({ path: disk('zero'), backingPath: image, backingFormat: 'qcow2', sizeGb: 0 });
      expect(await size(disk('zero'))).toBe(2 * 1024 ** 3);
      expect((await readdir(dir)).sort()).toEqual(['fits', 'image.qcow2', 'zero']);
    });
  });
});
