import { Router, type Request, type Response } from 'express';
import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, publicBase, route } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';
import { links, toMap, type KeyValue } from './server-view.ts';

const FLAVOR = 'id name vcpus ramMb diskGb ephemeralGb swapMb isPublic description extraSpecs { key value }';

interface FlavorNode {
  id: string;
  name: string;
  vcpus: number;
  ramMb: number;
  diskGb: number;
  ephemeralGb: number;
  swapMb: number;
  isPublic: boolean;
  description: string;
  extraSpecs: KeyValue[];
}

/** nova/api/openstack/compute/schemas/flavor_manage.py */
const createFlavorSchema = {
  $id: 'openstack/compute/flavor-create',
  type: 'object',
  required: ['flavor'],
  properties: {
    flavor: {
      type: 'object',
      required: ['name', 'ram', 'vcpus', 'disk'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 255 },
        id: { type: ['string', 'null'] },
        ram: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1 },
        vcpus: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1 },
        disk: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 0 },
        'OS-FLV-EXT-DATA:ephemeral': { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 0 },
        swap: { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 0 },
        rxtx_factor: { type: ['number', 'string'] },
        'os-flavor-access:is_public': { type: 'boolean' },
        description: { type: ['string', 'null'], maxLength: 65535 },
      },
    },
  },
} as const;

interface CreateFlavorBody {
  flavor: {
    name: string; ram: number | string; vcpus: number | string; disk: number | string;
    'OS-FLV-EXT-DATA:ephemeral'?: number | string; swap?: number | string; 'os-flavor-access:is_public'?: boolean; description?: string | null;
  };
}

function view(req: Request, res: Response, f: FlavorNode) {
  return {
    id: f.id,
    name: f.name,
    ram: f.ramMb,
    disk: f.diskGb,
    vcpus: f.vcpus,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeralGb,
    swap: f.swapMb || '',
    rxtx_factor: 1.0,
    'os-flavor-access:is_public': f.isPublic,
    'OS-FLV-DISABLED:disabled': false,
    links: links(publicBase(req), 'flavors', f.id),
    ...(atLeast(res, 55) ? { description: f.description || null } : {}),
    ...(atLeast(res, 61) ? { extra_specs: toMap(f.extraSpecs) } : {}),
  };
}

async function loadFlavor(res: Response, ref: string): Promise<FlavorNode> {
  const d = await run<{ flavor: FlavorNode | null }>(ctxOf(res), `query($ref: String!) { flavor(ref: $ref) { ${FLAVOR} } }`, { ref });
  if (!d.flavor) throw new OsError(404, `Flavor ${ref} could not be found.`);
  return d.flavor;
}

export function flavorRoutes(r: Router): void {
  const list = (detail: boolean) => route(async (req, res) => {
    const d = await run<{ flavors: FlavorNode[] }>(ctxOf(res), `{ flavors { ${FLAVOR} } }`);
    const isPublic = req.query.is_public;
    const rows = d.flavors.filter((f) => isPublic === undefined || isPublic === 'None' || String(f.isPublic) === String(isPublic).toLowerCase());
    res.json({ flavors: rows.map((f) => (detail ? view(req, res, f) : { id: f.id, name: f.name, links: links(publicBase(req), 'flavors', f.id), ...(atLeast(res, 55) ? { description: f.description || null } : {}) })) });
  });
  r.get('/flavors', allow('os_compute_api:flavors:index'), list(false));
  r.get('/flavors/detail', allow('os_compute_api:flavors:index'), list(true));
  r.get('/flavors/:id', allow('os_compute_api:flavors:index'), route(async (req, res) => {
    res.json({ flavor: view(req, res, await loadFlavor(res, String(req.params.id))) });
  }));
  r.post('/flavors', allow('os_compute_api:os-flavor-manage:create'), route(async (req, res) => {
    const f = validBody<CreateFlavorBody>(createFlavorSchema, req.body).flavor;
    const input = {
      name: f.name, vcpus: Number(f.vcpus), ramMb: Number(f.ram), diskGb: Number(f.disk),
      ephemeralGb: Number(f['OS-FLV-EXT-DATA:ephemeral'] ?? 0), swapMb: Number(f.swap || 0),
      isPublic: f['os-flavor-access:is_public'] ?? true, ...(f.description ? { description: f.description } : {}),
    };
    const d = await run<{ createFlavor: Record<string, unknown> }>(ctxOf(res),
      `mutation($i: FlavorInput!) { createFlavor(input: $i) { ${ERROR_FIELDS} ... on CreateFlavorSuccess { flavor { ${FLAVOR} } } } }`, { i: input });
    res.json({ flavor: view(req, res, unwrap<{ flavor: FlavorNode }>(d.createFlavor).flavor) });
  }));
  r.delete('/flavors/:id', allow('os_compute_api:os-flavor-manage:delete'), route(async (req, res) => {
    const d = await run<{ deleteFlavor: Record<string, unknown> }>(ctxOf(res),
      `mutation($ref: String!) { deleteFlavor(ref: $ref) { ${ERROR_FIELDS} } }`, { ref: String(req.params.id) });
    unwrap(d.deleteFlavor);
    res.status(202).end();
  }));
  r.get('/flavors/:id/os-extra_specs', allow('os_compute_api:os-flavor-extra-specs:index'), route(async (req, res) => {
    res.json({ extra_specs: toMap((await loadFlavor(res, String(req.params.id))).extraSpecs) });
  }));
  r.get('/flavors/:id/os-extra_specs/:key', allow('os_compute_api:os-flavor-extra-specs:index'), route(async (req, res) => {
    const specs = toMap((await loadFlavor(res, String(req.params.id))).extraSpecs);
    const key = String(req.params.key);
    if (!(key in specs)) throw new OsError(404, `Flavor ${req.params.id} has no extra specs with key ${key}.`);
    res.json({ [key]: specs[key] });
  }));
}
