import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IMAGE_HEAD_BYTES } from '../core/image-disk.ts';

/**
 * Image files on the control plane's disk: `<dataDir>/images/<id>`. A file under its final name
 * is always complete and verified; uploads land in a temporary file beside it first.
 */
export function imageFile(dataDir: string, imageId: string): string {
  return path.join(dataDir, 'images', imageId);
}

export interface ReceivedFile {
  path: string;
  sha256: string;
  size: number;
  /** The file's first bytes, enough to read its virtual size from its header. */
  head: Buffer;
}

/** Streams `body` into a synced temporary file, hashing it on the way; removes it if anything fails. */
export async function receiveFile(dataDir: string, imageId: string, body: Readable): Promise<ReceivedFile> {
  const dir = path.join(dataDir, 'images');
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.upload-${imageId}-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  try {
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          if (head.length < IMAGE_HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, IMAGE_HEAD_BYTES - head.length)]);
          size += chunk.length;
          done(null, chunk);
        },
      }),
      createWriteStream(temp, { mode: 0o640 }),
    );
    const handle = await open(temp, 'r');
    await handle.sync().finally(() => handle.close());
    return { path: temp, sha256: hash.digest('hex'), size, head };
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export async function removeImageFile(dataDir: string, imageId: string): Promise<void> {
  await rm(imageFile(dataDir, imageId), { force: true });
}
