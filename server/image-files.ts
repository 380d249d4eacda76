import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Express, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Principal } from '../core/principal.ts';
import { imageFile, receiveFile, type ReceivedFile } from '../store/image-blobs.ts';
import { claimUpload, finishUpload, releaseUpload, snapshotProjectOnHost } from '../store/image-uploads.ts';
import { isUuid } from '../store/instances.ts';
import type { ImageRow } from '../store/rows.ts';
import { principalFor } from './authenticate.ts';
import type { BaseContext } from './graphql-http.ts';

/** A refusal with its HTTP status; each API that serves image files words its own body from it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Image bytes over plain HTTP beside GraphQL: PUT/GET /images/:id/file. */
export function mountImageFiles(app: Express, base: BaseContext): void {
  const route = (handler: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await handler(req, res);
    } catch (e) {
      sendError(base, req, res, e);
    }
  };
  app.put('/images/:id/file', route((req, res) => upload(base, req, res)));
  app.get('/images/:id/file', route((req, res) => download(base, req, res)));
}

function sendError(base: BaseContext, req: Request, res: Response, e: unknown): void {
  // Mid-stream failures (a client that hung up, a broken pipe) have no status left to send.
  if (res.headersSent || !res.socket || res.socket.destroyed) {
    res.destroy();
    return;
  }
  if (e instanceof HttpError) {
    res.status(e.status).json({ error: e.message, ...e.details });
    return;
  }
  base.log.error({ err: e, path: req.path }, 'image file request failed');
  res.status(500).json({ error: 'internal error' });
}

async function principalOf(base: BaseContext, req: Request): Promise<Principal> {
  try {
    return await principalFor(base.sql, req.headers.authorization);
  } catch (e) {
    if (e instanceof GraphQLError) throw new HttpError(401, e.message);
    throw e;
  }
}

function imageIdOf(req: Request): string {
  const id = String(req.params.id);
  if (!isUuid(id)) throw new HttpError(404, `image ${JSON.stringify(id)} not found`);
  return id.toLowerCase();
}

function requireRule(base: BaseContext, principal: Principal, rule: string): void {
  if (!base.policy.allows(principal, rule)) throw new HttpError(403, `the ${rule} rule does not allow this caller`);
}

async function visibleImage(base: BaseContext, id: string, projectId: string): Promise<ImageRow> {
  const [image] = await base.sql<ImageRow[]>`
    select * from images where id = ${id} and (owner_project_id = ${projectId} or visibility = 'public')`;
  if (!image) throw new HttpError(404, `image ${id} not found`);
  return image;
}

/**
 * The project an upload is for: a user's own; for a host, the project of the instance whose
 * snapshot (or shelve) it is carrying out right now, and nothing else.
 */
async function uploadProject(base: BaseContext, principal: Principal, imageId: string): Promise<string> {
  if (principal.kind === 'user') {
    requireRule(base, principal, 'image:upload');
    return principal.projectId;
  }
  if (principal.kind === 'host') {
    requireRule(base, principal, 'agent:upload_snapshot');
    const project = await snapshotProjectOnHost(base.sql, principal.hostId, imageId);
    if (!project) throw new HttpError(403, `no snapshot of an instance on this host targets image ${imageId}`);
    return project;
  }
  throw new HttpError(403, 'an enrollment token cannot upload images');
}

/** PUT: the file of a queued image of the caller's project, verified against its declared checksum. */
async function upload(base: BaseContext, req: Request, res: Response): Promise<void> {
  const id = imageIdOf(req);
  const image = await receiveImageFile(base, await principalOf(base, req), id, req);
  res.status(200).json({ id, status: image.status, sizeBytes: image.size_bytes, checksum: image.checksum });
}

/** Stores the request's body as the file of image `id` and activates it; also the OpenStack facade's upload. */
export async function receiveImageFile(base: BaseContext, principal: Principal, id: string, req: Request): Promise<ImageRow> {
  const projectId = await uploadProject(base, principal, id);
  const claimed = await claimUpload(base.sql, id, projectId);
  if (!claimed) {
    const image = await visibleImage(base, id, projectId);
    if (image.owner_project_id !== projectId) throw new HttpError(403, `image ${image.name} belongs to another project`);
    throw new HttpError(409, image.status === 'saving'
      ? `an upload to image ${image.name} is already running`
      : `image ${image.name} is ${image.status}; its file cannot be replaced (create a new image)`, { status: image.status });
  }
  let received: ReceivedFile | undefined;
  let finished = false;
  try {
    received = await receiveFile(base.config.dataDir, id, req);
    if (received.size === 0) throw new HttpError(422, 'the upload is empty');
    if (claimed.checksum && claimed.checksum !== received.sha256) {
      throw new HttpError(422, `checksum mismatch: image ${claimed.name} declared sha256 ${claimed.checksum}, the upload has ${received.sha256}`,
        { expected: claimed.checksum, actual: received.sha256 });
    }
    const image = await finishUpload(base.sql, base.config.dataDir, id, received);
    if (!image) throw new HttpError(409, `image ${claimed.name} was deleted or its upload taken over meanwhile`);
    finished = true;
    return image;
  } finally {
    if (received) await rm(received.path, { force: true });
    if (!finished) await releaseUpload(base.sql, id);
  }
}

/**
 * GET: users fetch images their project can see; a host fetches only images of instances bound
 * to it, as an agent may know nothing beyond its own host.
 */
async function download(base: BaseContext, req: Request, res: Response): Promise<void> {
  await sendImageFile(base, await principalOf(base, req), imageIdOf(req), res);
}

/** Streams image `id`'s file to a caller allowed to read it; also the OpenStack facade's download. */
export async function sendImageFile(base: BaseContext, principal: Principal, id: string, res: Response): Promise<void> {
  let image: ImageRow;
  if (principal.kind === 'user') {
    requireRule(base, principal, 'image:download');
    image = await visibleImage(base, id, principal.projectId);
  } else if (principal.kind === 'host') {
    requireRule(base, principal, 'agent:download_image');
    const [row] = await base.sql<(ImageRow & { bound: boolean })[]>`
      select i.*, (exists (select 1 from instances n where (n.image_id = i.id or n.shelved_image_id = i.id)
                                                          and n.host_id = ${principal.hostId})
                   or exists (select 1 from migrations m where m.transfer_image_id = i.id
                                                          and m.dest_host_id = ${principal.hostId})
                   or exists (select 1 from instances n join instance_actions a on a.id = n.current_action_id
                               where n.host_id = ${principal.hostId} and a.action = 'rescue'
                                 and a.params->>'imageId' = i.id::text)) as bound
        from images i where i.id = ${id}`;
    if (!row) throw new HttpError(404, `image ${id} not found`);
    if (!row.bound) throw new HttpError(403, `no instance bound to this host uses image ${id}`);
    image = row;
  } else {
    throw new HttpError(403, 'an enrollment token cannot download images');
  }
  if (image.status !== 'active') throw new HttpError(409, `image ${image.name} has no file yet (status ${image.status})`, { status: image.status });
  const file = imageFile(base.config.dataDir, id);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new Error(`image ${id} is active but its file ${file} is missing`);
  res.status(200).set({
    'content-type': 'application/octet-stream',
    'content-length': String(info.size),
    'x-image-checksum': `sha256:${image.checksum}`,
  });
  await pipeline(createReadStream(file), res);
}
