import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DriverError } from './drivers/driver.ts';

export interface ImageRef {
  id: string;
  /** sha256 of the image file, lower-case hex. */
  checksum: string;
  diskFormat: 'qcow2' | 'raw';
}

export type ImageSource = () => Promise<WebReadableStream<Uint8Array> | NodeJS.ReadableStream>;

export interface ImageCacheOptions {
  /** Checks a verified download before it is used (the libvirt driver passes inspectImage). */
  inspect?: (file: string, format: ImageRef['diskFormat']) => Promise<void>;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const PART = '.part-';

/**
 * Base images of one host, downloaded once, by image id. A download goes to a temporary file in
 * the same folder, is hashed while it streams, synced, and renamed into place only when its
 * sha256 matches: a file under its final name is always complete and verified, so a crash
 * never leaves a broken image behind that a later boot would trust.
 */
export class ImageCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly options: ImageCacheOptions = {},
  ) {}

  pathOf(imageId: string): string {
    if (!ID_RE.test(imageId)) throw new DriverError(`bad image id: ${imageId}`, 'invalid_spec');
    return path.join(this.dir, imageId);
  }

  /** The local path of the image, downloading it first unless cached; concurrent calls share one download. */
  ensure(image: ImageRef, download: ImageSource): Promise<string> {
    let pending = this.inFlight.get(image.id);
    if (!pending) {
      pending = this.load(image, download).finally(() => this.inFlight.delete(image.id));
      this.inFlight.set(image.id, pending);
    }
    return pending;
  }

  /** Removes cached images not in use, and leftovers of interrupted downloads; returns the removed ids. */
  async prune(inUseImageIds: Iterable<string>): Promise<string[]> {
    const keep = new Set(inUseImageIds);
    const removed: string[] = [];
    for (const name of await readdir(this.dir).catch(() => [])) {
      const id = name.split(PART)[0]!;
      if (keep.has(id) || this.inFlight.has(id)) continue;
      await rm(path.join(this.dir, name), { force: true });
      if (!name.includes(PART)) removed.push(id);
    }
    return removed;
  }

  private async load(image: ImageRef, download: ImageSource): Promise<string> {
    const final = this.pathOf(image.id);
    if (await access(final).then(() => true, () => false)) return final;
    await mkdir(this.dir, { recursive: true });
    const part = `${final}${PART}${randomBytes(4).toString('hex')}`;
    try {
      const hash = createHash('sha256');
      const source = await download();
      await pipeline(
        isWebStream(source) ? Readable.fromWeb(source) : source,
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        }),
        createWriteStream(part),
      );
      const actual = hash.digest('hex');
      if (actual !== image.checksum.toLowerCase()) {
        throw new DriverError(
          `image ${image.id}: checksum mismatch`,
          'image_checksum_mismatch',
          `expected sha256 ${image.checksum}, got ${actual}`,
        );
      }
      await this.inspect(part, image);
      const handle = await open(part, 'r');
      await handle.sync().finally(() => handle.close());
      await rename(part, final);
      return final;
    } finally {
      await rm(part, { force: true });
    }
  }

  private async inspect(file: string, image: ImageRef): Promise<void> {
    if (!this.options.inspect) return;
    try {
      await this.options.inspect(file, image.diskFormat);
    } catch (e) {
      throw new DriverError(`image ${image.id} refused`, 'image_invalid', (e as Error).message);
    }
  }
}

function isWebStream(s: WebReadableStream<Uint8Array> | NodeJS.ReadableStream): s is WebReadableStream<Uint8Array> {
  return typeof (s as WebReadableStream<Uint8Array>).getReader === 'function';
}
