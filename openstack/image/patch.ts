import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import type { ImageNode } from './view.ts';

/** The JSON Patch media types Glance takes on PATCH /v2/images/{id}. */
export const PATCH_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'];

const patchSchema = {
  $id: 'openstack/image/patch',
  type: 'array',
  items: {
    type: 'object',
    required: ['op', 'path'],
    additionalProperties: false,
    properties: { op: { enum: ['add', 'replace', 'remove'] }, path: { type: 'string' }, value: {} },
  },
} as const;

/** The image as Glance's schema checks it once patched: the columns Orrery changes, and string extra properties. */
const patchedSchema = {
  $id: 'openstack/image/patched',
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 65535 },
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255 },
    visibility: { enum: ['public', 'private', 'shared', 'community'] },
    min_disk: { type: 'integer', minimum: 0 },
    min_ram: { type: 'integer', minimum: 0 },
  },
} as const;

type Op = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** What updateImage's ImagePatch changes, by Glance's name. */
const COLUMNS = { name: 'name', visibility: 'visibility', min_disk: 'minDiskGb', min_ram: 'minRamMb' } as const;
type Column = keyof typeof COLUMNS;
const isColumn = (k: string): k is Column => k in COLUMNS;

/** Glance's own read-only attributes, and those it would change but Orrery keeps none of (fixed in imageView). */
const READ_ONLY = new Set(['id', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at',
  'self', 'file', 'schema', 'direct_url', 'locations', 'deleted', 'deleted_at']);
const NOT_KEPT = new Set(['disk_format', 'container_format', 'owner', 'tags', 'protected', 'os_hidden']);

/** `/name` to `name` (RFC 6901 escapes undone); nested pointers name nothing of an image. */
function attribute(path: string): string {
  const m = /^\/([^/]+)$/.exec(path);
  if (!m) throw new OsError(400, `Invalid JSON pointer for this resource: '${path}'`);
  return m[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Applies Glance's JSON Patch to the image as it is, with Glance's answers for what cannot be
 * changed (403) or removed (403 for an attribute, 409 for a property it does not have); returns
 * updateImage's input: the columns changed, and the whole property map if any property changed.
 */
export function imagePatch(image: ImageNode, body: unknown): Record<string, unknown> {
  const ops = validBody<Op[]>(patchSchema, body);
  const columns: Partial<Record<Column, unknown>> = {};
  const props = Object.fromEntries(image.properties.map((p) => [p.key, p.value as unknown]));
  let propsChanged = false;
  for (const { op, path, value } of ops) {
    const key = attribute(path);
    if (READ_ONLY.has(key)) throw new OsError(403, `Attribute '${key}' is read-only.`);
    if (NOT_KEPT.has(key)) throw new OsError(403, `Attribute '${key}' cannot be changed: Orrery images keep it fixed.`);
    if (op !== 'remove' && value === undefined) throw new OsError(400, `Operation ${op} on ${path} needs a value`);
    if (isColumn(key)) {
      if (op === 'remove') throw new OsError(403, `Property ${key} may not be removed.`);
      columns[key] = value;
      continue;
    }
    if (op !== 'add' && !(key in props)) throw new OsError(409, `Property ${key} does not exist.`);
    if (op === 'remove') delete props[key];
    else props[key] = value;
    propsChanged = true;
  }
  validBody(patchedSchema, { ...props, ...columns });
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(columns) as [Column, unknown][]) {
    // As on create: Orrery has public and private, and Glance's shared and community start private.
    input[COLUMNS[k]] = k === 'visibility' ? (v === 'public' ? 'public' : 'private') : v;
  }
  if (propsChanged) input.properties = Object.entries(props).map(([key, value]) => ({ key, value }));
  return input;
}
