import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection } from './connection.ts';
import { CliError } from './errors.ts';

/** sha256 of a local file, declared with createImage so the server refuses an upload that arrived different. */
export async function fileChecksum(file: string): Promise<{ sha256: string; size: number }> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`no such file: ${file}`);
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { sha256: hash.digest('hex'), size: info.size };
}

/** PUT <api>/images/<id>/file, streamed from disk (images are far larger than memory should hold). */
export async function uploadImageFile(conn: Connection, imageId: string, file: string): Promise<void> {
  const res = await fetch(`${conn.api}/images/${imageId}/file`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${conn.token}`, 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  });
  if (res.ok) return;
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  const why = res.status === 401 ? 'the API refused the token (UNAUTHENTICATED)' : (body.error ?? res.statusText);
  throw new CliError(`uploading ${file} failed (HTTP ${res.status}): ${why}`, [
    `image ${imageId} stays queued; retry with a new image, or delete this one`,
  ]);
}
