import express, { Router, type Response } from 'express';
import { validBody } from '../validate.ts';
import { HttpError, receiveImageFile, sendImageFile } from '../../server/image-files.ts';
import { isUuid } from '../../store/instances.ts';
import { OsError, renamed } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { authenticated, ctxOf, errors, notFound, publicBase, requestIds, route, type BaseContext } from '../http.ts';
import { allow } from '../policy.ts';
import { imagePatch, PATCH_TYPES } from './patch.ts';
import { IMAGE_FIELDS, imageView, type ImageNode } from './view.ts';

/** Glance's fields Orrery keeps as columns; any other string field is an extra property, as in Glance. */
const createImageSchema = {
  $id: 'openstack/image/create',
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 65535 },
  properties: {
    id: { type: 'string' },
    name: { type: 'string', minLength: 1, maxLength: 255 },
    disk_format: { enum: ['qcow2', 'raw'] },
    container_format: { enum: ['bare'] },
    visibility: { enum: ['public', 'private', 'shared', 'community'] },
    min_disk: { type: 'integer', minimum: 0 },
    min_ram: { type: 'integer', minimum: 0 },
    protected: { type: 'boolean' },
    os_hidden: { type: 'boolean' },
    tags: { type: 'array', maxItems: 0 },
  },
  required: ['name'],
} as const;

type CreateImageBody = { name: string; disk_format?: string; visibility?: string; min_disk?: number; min_ram?: number } & Record<string, unknown>;
const COLUMNS = new Set(Object.keys(createImageSchema.properties));

/** updateImage's input fields under Glance's attribute names, for the 400 a client reads. */
const PATCH_FIELD_NAMES = { 'input.name': 'name', 'input.visibility': 'visibility', 'input.minDiskGb': 'min_disk', 'input.minRamMb': 'min_ram', 'input.properties': 'properties' };

async function loadImage(res: Response, ref: string): Promise<ImageNode> {
  const d = await run<{ image: ImageNode | null }>(ctxOf(res), `query($ref: String!) { image(ref: $ref) { ${IMAGE_FIELDS} } }`, { ref });
  if (!d.image) throw new OsError(404, `No image found with ID ${ref}`);
  return d.image;
}

/** The image store's own refusals (server/image-files.ts), in Glance's body. */
async function fileStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof HttpError) throw new OsError(e.status === 422 ? 400 : e.status, e.message);
    throw e;
  }
}

/** /image: version discovery, then Image v2 behind X-Auth-Token. */
export function imageRouter(base: BaseContext): Router {
  const r = Router();
  r.use(requestIds('image', base.log));
  r.get('/', (req, res) => {
    res.json({ versions: [{ id: 'v2.9', status: 'CURRENT', links: [{ rel: 'self', href: `${publicBase(req)}/image/v2/` }] }] });
  });
  const v2 = Router();
  v2.use(authenticated(base));
  v2.get('/images', allow('get_images'), route(async (req, res) => {
    const d = await run<{ images: ImageNode[] }>(ctxOf(res), `{ images { ${IMAGE_FIELDS} } }`);
    const name = typeof req.query.name === 'string' ? req.query.name : undefined;
    const status = typeof req.query.status === 'string' ? req.query.status : undefined;
    const visibility = typeof req.query.visibility === 'string' ? req.query.visibility : undefined;
    const rows = d.images.filter((i) => (!name || i.name === name) && (!status || i.status === status) && (!visibility || visibility === 'all' || i.visibility === visibility));
    res.json({ images: rows.map(imageView), first: '/v2/images', schema: '/v2/schemas/images' });
  }));
  v2.get('/images/:id', allow('get_image'), route(async (req, res) => {
    res.json(imageView(await loadImage(res, String(req.params.id))));
  }));
  v2.post('/images', allow('add_image'), express.json({ limit: '1mb' }), route(async (req, res) => {
    const body = validBody<CreateImageBody>(createImageSchema, req.body);
    const properties = Object.entries(body).filter(([k]) => !COLUMNS.has(k)).map(([key, value]) => ({ key, value: String(value) }));
    const input = {
      name: body.name,
      diskFormat: body.disk_format ?? 'qcow2',
      // Glance's default is shared; Orrery has public and private, and private is what shared starts as.
      visibility: body.visibility === 'public' ? 'public' : 'private',
      ...(body.min_disk !== undefined ? { minDiskGb: body.min_disk } : {}),
      ...(body.min_ram !== undefined ? { minRamMb: body.min_ram } : {}),
      ...(properties.length ? { properties } : {}),
    };
    const d = await run<{ createImage: Record<string, unknown> }>(ctxOf(res),
      `mutation($i: ImageInput!) { createImage(input: $i) { ${ERROR_FIELDS} ... on CreateImageSuccess { image { ${IMAGE_FIELDS} } } } }`, { i: input });
    const image = unwrap<{ image: ImageNode }>(d.createImage).image;
    res.status(201).set('location', `${publicBase(req)}/image/v2/images/${image.id}`).json(imageView(image));
  }));
  v2.patch('/images/:id', allow('modify_image'), express.json({ type: PATCH_TYPES, limit: '1mb' }), route(async (req, res) => {
    if (!req.is(PATCH_TYPES)) throw new OsError(415, `Unsupported Content-Type: use ${PATCH_TYPES[0]}`);
    const image = await loadImage(res, String(req.params.id));
    const input = imagePatch(image, req.body);
    if (Object.keys(input).length === 0) {
      res.json(imageView(image));
      return;
    }
    const d = await renamed(PATCH_FIELD_NAMES, () => run<{ updateImage: Record<string, unknown> }>(ctxOf(res),
      `mutation($ref: String!, $i: ImagePatch!) { updateImage(ref: $ref, input: $i) { ${ERROR_FIELDS} ... on UpdateImageSuccess { image { ${IMAGE_FIELDS} } } } }`,
      { ref: image.id, i: input }).then((r) => unwrap<{ image: ImageNode }>(r.updateImage)));
    res.json(imageView(d.image));
  }));
  v2.delete('/images/:id', allow('delete_image'), route(async (req, res) => {
    const d = await run<{ deleteImage: Record<string, unknown> }>(ctxOf(res),
      `mutation($ref: String!) { deleteImage(ref: $ref) { ${ERROR_FIELDS} } }`, { ref: String(req.params.id) });
    unwrap(d.deleteImage);
    res.status(204).end();
  }));
  v2.put('/images/:id/file', allow('upload_image'), route(async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw new OsError(404, `No image found with ID ${id}`);
    await fileStore(() => receiveImageFile(base, ctxOf(res).principal, id.toLowerCase(), req));
    res.status(204).end();
  }));
  v2.get('/images/:id/file', allow('download_image'), route(async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw new OsError(404, `No image found with ID ${id}`);
    await fileStore(() => sendImageFile(base, ctxOf(res).principal, id.toLowerCase(), res));
  }));
  v2.get('/schemas/image', (_req, res) => {
    res.json({ name: 'image', properties: {}, additionalProperties: { type: 'string' } });
  });
  r.use('/v2', v2);
  r.use(notFound('image'));
  r.use(errors('image', base));
  return r;
}
