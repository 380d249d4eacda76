import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { validBody } from '../validate.ts';
import { isUuid } from '../../store/instances.ts';
import { OsError, renamed } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, publicBase, route } from '../http.ts';
import { allow, allowed } from '../policy.ts';
import { createServerSchema, metadataSchema, updateServerSchema, type CreateServerBody, type UpdateServerBody } from './server-schemas.ts';
import { links, SERVER_FIELDS, serverDetail, toMap, type ServerNode } from './server-view.ts';

/** The last path segment of a ref: Nova accepts a flavor or image as an id or as its URL. */
const refOf = (ref: string) => ref.replace(/\/+$/, '').split('/').pop()!;
const kv = (m: Record<string, string> | undefined) => (m ? Object.entries(m).map(([key, value]) => ({ key, value })) : undefined);
const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
const csv = (v: unknown) => (typeof v === 'string' && v ? v.split(',') : undefined);
const q = (req: Request, k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);

/** One server of the caller's project (any project for admins), or Nova's 404. */
export async function loadServer(res: Response, id: string): Promise<ServerNode> {
  if (!isUuid(id)) throw new OsError(404, `Instance ${id} could not be found.`);
  const d = await run<{ instance: ServerNode | null }>(ctxOf(res), `query($id: ID!) { instance(id: $id) { ...Server } } ${SERVER_FIELDS}`, { id });
  if (!d.instance) throw new OsError(404, `Instance ${id} could not be found.`);
  return d.instance;
}

/** Nova's list filters on GraphQL's filter; pages are walked here, since Nova's marker is a server id. */
async function listServers(req: Request, res: Response): Promise<ServerNode[]> {
  const all = ['1', 'true', 'True', ''].includes(q(req, 'all_tenants') ?? 'no');
  if (all && !allowed(res, 'os_compute_api:servers:index:get_all_tenants')) {
    throw new OsError(403, "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.");
  }
  const filter = {
    name: q(req, 'name'), status: q(req, 'status')?.toUpperCase(), host: q(req, 'host'), zone: q(req, 'availability_zone'),
    vmState: q(req, 'vm_state'), tags: csv(req.query.tags), tagsAny: csv(req.query['tags-any']),
    notTags: csv(req.query['not-tags']), notTagsAny: csv(req.query['not-tags-any']),
  };
  const out: ServerNode[] = [];
  let after: string | null = null;
  for (;;) {
    const d: { instances: { edges: { node: ServerNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await run(ctxOf(res),
      `query($after: String, $all: Boolean, $f: InstanceFilter) {
        instances(first: 100, after: $after, allProjects: $all, filter: $f) { edges { node { ...Server } } pageInfo { hasNextPage endCursor } }
      } ${SERVER_FIELDS}`, { after, all, f: filter });
    out.push(...d.instances.edges.map((e) => e.node));
    if (!d.instances.pageInfo.hasNextPage) break;
    after = d.instances.pageInfo.endCursor;
  }
  const flavor = q(req, 'flavor');
  const image = q(req, 'image');
  let rows = out.filter((s) => !s.deleting && (!flavor || s.flavor.id === flavor || s.flavor.name === flavor) && (!image || s.imageId === refOf(image)));
  // Nova lists newest first and pages after a marker server.
  rows = rows.reverse();
  const marker = q(req, 'marker');
  if (marker) {
    const at = rows.findIndex((s) => s.id === marker);
    if (at < 0) throw new OsError(400, `marker [${marker}] not found`);
    rows = rows.slice(at + 1);
  }
  const limit = Number(q(req, 'limit') ?? NaN);
  return Number.isInteger(limit) && limit >= 0 ? rows.slice(0, limit) : rows;
}

function createInput(body: CreateServerBody, name: string) {
  const s = body.server;
  const hints = body['OS-SCH-HNT:scheduler_hints'];
  const networks = s.networks === undefined || s.networks === 'auto' ? undefined
    : s.networks === 'none' ? []
    : s.networks.map((n) => ({ network: n.uuid, port: n.port, fixedIp: n.fixed_ip }));
  const sameHost = list(hints?.same_host);
  const differentHost = list(hints?.different_host);
  return {
    name,
    flavor: refOf(s.flavorRef),
    image: s.imageRef ? refOf(s.imageRef) : '',
    networks,
    keyName: s.key_name,
    userData: s.user_data === undefined ? undefined : Buffer.from(s.user_data, 'base64').toString('utf8'),
    zone: s.availability_zone,
    metadata: kv(s.metadata),
    tags: s.tags,
    configDrive: s.config_drive === undefined ? undefined : s.config_drive === true || String(s.config_drive).toLowerCase() === 'true',
    serverGroup: hints?.group,
    schedulerHints: sameHost || differentHost || hints?.query
      ? { sameHost, differentHost, query: typeof hints?.query === 'string' ? JSON.parse(hints.query) : hints?.query }
      : undefined,
  };
}

/** Orrery's input fields under the names of Nova's request body, for the 400 a client reads. */
const SERVER_FIELD_NAMES: Record<string, string> = {
  'input.flavor': 'server.flavorRef', 'input.image': 'server.imageRef', 'input.name': 'server.name', 'input.zone': 'server.availability_zone',
  'input.keyName': 'server.key_name', 'input.userData': 'server.user_data', 'input.networks': 'server.networks', 'input.tags': 'server.tags',
  'input.metadata': 'server.metadata', 'input.serverGroup': 'OS-SCH-HNT:scheduler_hints.group', 'input.schedulerHints': 'OS-SCH-HNT:scheduler_hints',
};

/** One createInstance, or Nova's min_count/max_count as one createInstances (all or none). */
async function createServers(res: Response, body: CreateServerBody, count: number): Promise<{ id: string }[]> {
  const name = body.server.name;
  if (count === 1) {
    const d = await run<{ createInstance: Record<string, unknown> }>(ctxOf(res),
      `mutation($i: CreateInstanceInput!) { createInstance(input: $i) { ${ERROR_FIELDS} ... on CreateInstanceSuccess { instance { id } } } }`,
      { i: createInput(body, name) });
    return [unwrap<{ instance: { id: string } }>(d.createInstance).instance];
  }
  // Nova's multi_instance_display_name_template default: name-1, name-2, ...
  const inputs = Array.from({ length: count }, (_, n) => createInput(body, `${name}-${n + 1}`));
  const d = await run<{ createInstances: Record<string, unknown> }>(ctxOf(res),
    `mutation($i: [CreateInstanceInput!]!) { createInstances(inputs: $i) { ${ERROR_FIELDS} ... on CreateInstancesSuccess { instances { id } } } }`,
    { i: inputs });
  return unwrap<{ instances: { id: string }[] }>(d.createInstances).instances;
}

export function serverRoutes(r: Router): void {
  r.get('/servers', allow('os_compute_api:servers:index'), route(async (req, res) => {
    const base = publicBase(req);
    res.json({ servers: (await listServers(req, res)).map((s) => ({ id: s.id, name: s.name, links: links(base, 'servers', s.id) })) });
  }));
  r.get('/servers/detail', allow('os_compute_api:servers:detail'), route(async (req, res) => {
    const base = publicBase(req);
    res.json({ servers: (await listServers(req, res)).map((s) => serverDetail(res, base, s)) });
  }));
  r.get('/servers/:id', allow('os_compute_api:servers:show'), route(async (req, res) => {
    res.json({ server: serverDetail(res, publicBase(req), await loadServer(res, String(req.params.id))) });
  }));
  r.post('/servers', allow('os_compute_api:servers:create'), route(async (req, res) => {
    const body = validBody<CreateServerBody>(createServerSchema, req.body);
    const s = body.server;
    const count = s.max_count ?? s.min_count ?? 1;
    if (s.min_count !== undefined && s.min_count > count) throw new OsError(400, 'min_count must be <= max_count');
    const created = await renamed(SERVER_FIELD_NAMES, () => createServers(res, body, count));
    const base = publicBase(req);
    if (s.return_reservation_id) {
      res.status(202).json({ reservation_id: `r-${randomUUID().slice(0, 8)}` });
      return;
    }
    const first = created[0]!;
    res.status(202).set('location', `${base}/compute/v2.1/servers/${first.id}`).json({
      server: { id: first.id, links: links(base, 'servers', first.id), 'OS-DCF:diskConfig': 'MANUAL', security_groups: [{ name: 'default' }] },
    });
  }));
  r.put('/servers/:id', allow('os_compute_api:servers:update'), route(async (req, res) => {
    const body = validBody<UpdateServerBody>(updateServerSchema, req.body);
    const id = (await loadServer(res, String(req.params.id))).id;
    if (body.server.name !== undefined) await updateInstance(res, id, { name: body.server.name });
    res.json({ server: serverDetail(res, publicBase(req), await loadServer(res, id)) });
  }));
  r.delete('/servers/:id', allow('os_compute_api:servers:delete'), route(async (req, res) => {
    const id = (await loadServer(res, String(req.params.id))).id;
    const d = await run<{ deleteInstance: Record<string, unknown> }>(ctxOf(res), `mutation($id: ID!) { deleteInstance(id: $id) { ${ERROR_FIELDS} } }`, { id });
    unwrap(d.deleteInstance);
    res.status(204).end();
  }));
  r.get('/servers/:id/metadata', allow('os_compute_api:servers:show'), route(async (req, res) => {
    res.json({ metadata: toMap((await loadServer(res, String(req.params.id))).metadata) });
  }));
  for (const method of ['post', 'put'] as const) {
    // POST merges into the metadata, PUT replaces it (Nova's server-metadata semantics).
    r[method]('/servers/:id/metadata', allow('os_compute_api:servers:update'), route(async (req, res) => {
      const body = validBody<{ metadata: Record<string, string> }>(metadataSchema, req.body);
      const server = await loadServer(res, String(req.params.id));
      const merged = method === 'post' ? { ...toMap(server.metadata), ...body.metadata } : body.metadata;
      await updateInstance(res, server.id, { metadata: kv(merged) });
      res.json({ metadata: merged });
    }));
  }
  r.get('/servers/:id/ips', allow('os_compute_api:ips:index'), route(async (req, res) => {
    const { addresses } = serverDetail(res, publicBase(req), await loadServer(res, String(req.params.id)));
    res.json({ addresses });
  }));
}

/** updateInstance with Nova's answer for its typed errors. */
export async function updateInstance(res: Response, id: string, input: Record<string, unknown>): Promise<void> {
  const d = await run<{ updateInstance: Record<string, unknown> }>(ctxOf(res),
    `mutation($id: ID!, $i: UpdateInstanceInput!) { updateInstance(id: $id, input: $i) { ${ERROR_FIELDS} } }`, { id, i: input });
  unwrap(d.updateInstance);
}
