import { Router, type Response } from 'express';
import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, route } from '../http.ts';
import { allow, allowed } from '../policy.ts';
import { toMap, type KeyValue } from './server-view.ts';

const AGGREGATE = 'id name hosts createdAt metadata { key value }';

interface AggregateNode {
  id: string;
  name: string;
  hosts: string[];
  createdAt: string;
  metadata: KeyValue[];
}

const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
const host = { type: 'object', required: ['host'], additionalProperties: false, properties: { host: name } } as const;

/** nova/api/openstack/compute/schemas/aggregates.py; availability zones are Orrery zones, not aggregate metadata. */
const createAggregateSchema = {
  $id: 'openstack/compute/aggregate-create',
  type: 'object',
  required: ['aggregate'],
  properties: {
    aggregate: { type: 'object', required: ['name'], additionalProperties: false, properties: { name, availability_zone: { type: 'null' } } },
  },
} as const;

const aggregateActionSchema = {
  $id: 'openstack/compute/aggregate-action',
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    add_host: host,
    remove_host: host,
    set_metadata: {
      type: 'object', required: ['metadata'], additionalProperties: false,
      properties: { metadata: { type: 'object', additionalProperties: { type: ['string', 'null'], maxLength: 255 } } },
    },
  },
} as const;

interface AggregateAction {
  add_host?: { host: string };
  remove_host?: { host: string };
  set_metadata?: { metadata: Record<string, string | null> };
}

function view(a: AggregateNode) {
  const metadata = toMap(a.metadata);
  return {
    id: a.id, uuid: a.id, name: a.name, availability_zone: metadata.availability_zone ?? null, hosts: a.hosts, metadata,
    created_at: a.createdAt.replace(/Z$/, ''), updated_at: null, deleted_at: null, deleted: false,
  };
}

async function loadAggregate(res: Response, ref: string): Promise<AggregateNode> {
  const d = await run<{ aggregate: AggregateNode | null }>(ctxOf(res), `query($ref: String!) { aggregate(ref: $ref) { ${AGGREGATE} } }`, { ref });
  if (!d.aggregate) throw new OsError(404, `Aggregate ${ref} could not be found.`);
  return d.aggregate;
}

async function mutate(res: Response, field: string, signature: string, call: string, vars: Record<string, unknown>): Promise<AggregateNode> {
  const d = await run<Record<string, Record<string, unknown>>>(ctxOf(res),
    `mutation(${signature}) { ${field}(${call}) { ${ERROR_FIELDS} ... on ${field[0]!.toUpperCase()}${field.slice(1)}Success { aggregate { ${AGGREGATE} } } } }`, vars);
  return unwrap<{ aggregate: AggregateNode }>(d[field]!).aggregate;
}

export function aggregateRoutes(r: Router): void {
  r.get('/os-aggregates', allow('os_compute_api:os-aggregates:index'), route(async (_req, res) => {
    const d = await run<{ aggregates: AggregateNode[] }>(ctxOf(res), `{ aggregates { ${AGGREGATE} } }`);
    res.json({ aggregates: d.aggregates.map(view) });
  }));
  r.get('/os-aggregates/:id', allow('os_compute_api:os-aggregates:show'), route(async (req, res) => {
    res.json({ aggregate: view(await loadAggregate(res, String(req.params.id))) });
  }));
  r.post('/os-aggregates', allow('os_compute_api:os-aggregates:create'), route(async (req, res) => {
    const { aggregate } = validBody<{ aggregate: { name: string } }>(createAggregateSchema, req.body);
    res.json({ aggregate: view(await mutate(res, 'createAggregate', '$i: AggregateInput!', 'input: $i', { i: { name: aggregate.name } })) });
  }));
  r.delete('/os-aggregates/:id', allow('os_compute_api:os-aggregates:delete'), route(async (req, res) => {
    const d = await run<{ deleteAggregate: Record<string, unknown> }>(ctxOf(res),
      `mutation($ref: String!) { deleteAggregate(ref: $ref) { ${ERROR_FIELDS} } }`, { ref: String(req.params.id) });
    unwrap(d.deleteAggregate);
    res.status(200).end();
  }));
  r.post('/os-aggregates/:id/action', route(async (req, res) => {
    const body = validBody<AggregateAction>(aggregateActionSchema, req.body);
    const ref = String(req.params.id);
    const rule = body.set_metadata ? 'os_compute_api:os-aggregates:set_metadata' as const
      : body.add_host ? 'os_compute_api:os-aggregates:add_host' as const : 'os_compute_api:os-aggregates:remove_host' as const;
    if (!allowed(res, rule)) throw new OsError(403, `Policy doesn't allow ${rule} to be performed.`);
    let a: AggregateNode;
    if (body.add_host) {
      a = await mutate(res, 'addHostToAggregate', '$a: String!, $h: String!', 'aggregate: $a, host: $h', { a: ref, h: body.add_host.host });
    } else if (body.remove_host) {
      a = await mutate(res, 'removeHostFromAggregate', '$a: String!, $h: String!', 'aggregate: $a, host: $h', { a: ref, h: body.remove_host.host });
    } else {
      // Nova merges: a key set to null is removed, the others are set.
      const merged: Record<string, string | null> = { ...toMap((await loadAggregate(res, ref)).metadata), ...body.set_metadata!.metadata };
      const metadata = Object.entries(merged).filter(([, v]) => v !== null).map(([key, value]) => ({ key, value }));
      a = await mutate(res, 'updateAggregate', '$ref: String!, $i: AggregatePatch!', 'ref: $ref, input: $i', { ref, i: { metadata } });
    }
    res.json({ aggregate: view(a) });
  }));
}
