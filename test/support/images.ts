import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import type { TestControlPlane } from './control-plane.ts';

/** Creates a public image and uploads its file through the API, as `orrery create image` does. */
export async function uploadImage(tcp: TestControlPlane, file: string, checksum: string, name: string): Promise<string> {
  const d = await tcp.admin.request(
    `mutation($i: ImageInput!) { createImage(input: $i) { __typename ... on CreateImageSuccess { image { id } } ... on Error { message } } }`,
    { i: { name, diskFormat: 'qcow2', visibility: 'public', checksum } },
  );
  expect(d.createImage.__typename).toBe('CreateImageSuccess');
  const id = d.createImage.image.id as string;
  const res = await fetch(`${tcp.url}/images/${id}/file`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${tcp.admin.token}`, 'content-type': 'application/octet-stream', 'content-length': String((await stat(file)).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  expect(res.status).toBe(200);
  return id;
}
