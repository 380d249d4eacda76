import { Router, type Response } from 'express';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { validBody } from '../validate.ts';
import { ctxOf, route } from '../http.ts';
import { allow } from '../policy.ts';

interface QuotaNode {
  resource: string;
  limit: number;
  inUse: number;
}

/** Orrery's quota resources are Nova's names already; limits adds its own camelCase names. */
const LIMIT_NAMES: Record<string, [string, string | null]> = {
  instances: ['maxTotalInstances', 'totalInstancesUsed'],
  cores: ['maxTotalCores', 'totalCoresUsed'],
  ram: ['maxTotalRAMSize', 'totalRAMUsed'],
  key_pairs: ['maxTotalKeypairs', null],
  metadata_items: ['maxServerMeta', null],
  server_groups: ['maxServerGroups', 'totalServerGroupsUsed'],
  server_group_members: ['maxServerGroupMembers', null],
};

const limit = { type: ['integer', 'string'], pattern: '^-?[0-9]+$', minimum: -1 } as const;

/** nova/api/openstack/compute/schemas/quota_sets.py, for the resources Orrery counts. */
const updateQuotaSchema = {
  $id: 'openstack/compute/quota-set-update',
  type: 'object',
  required: ['quota_set'],
  properties: {
    quota_set: {
      type: 'object',
      additionalProperties: false,
      properties: { ...Object.fromEntries(Object.keys(LIMIT_NAMES).map((r) => [r, limit])), force: { type: ['boolean', 'string'] } },
    },
  },
} as const;

async function quotas(res: Response, project: string | null): Promise<QuotaNode[]> {
  const d = await run<{ quotas: QuotaNode[] }>(ctxOf(res), `query($p: String) { quotas(project: $p) { resource limit inUse } }`, { p: project });
  return d.quotas;
}

export function quotaRoutes(r: Router): void {
  r.get('/os-quota-sets/:project', allow('os_compute_api:os-quota-sets:show'), route(async (req, res) => {
    const project = String(req.params.project);
    res.json({ quota_set: { id: project, ...Object.fromEntries((await quotas(res, project)).map((q) => [q.resource, q.limit])) } });
  }));
  r.put('/os-quota-sets/:project', allow('os_compute_api:os-quota-sets:update'), route(async (req, res) => {
    const project = String(req.params.project);
    const { quota_set: set } = validBody<{ quota_set: Record<string, number | string | boolean> }>(updateQuotaSchema, req.body);
    // All the limits in one setQuotas: one transaction, all of them or none.
    const limits = Object.entries(set).filter(([resource]) => resource in LIMIT_NAMES).map(([resource, v]) => ({ resource, limit: Number(v) }));
    if (limits.length > 0) {
      const d = await run<{ setQuotas: Record<string, unknown> }>(ctxOf(res),
        `mutation($input: SetQuotasInput!) { setQuotas(input: $input) { ${ERROR_FIELDS} } }`, { input: { project, limits } });
      unwrap(d.setQuotas);
    }
    res.json({ quota_set: Object.fromEntries((await quotas(res, project)).map((q) => [q.resource, q.limit])) });
  }));
  r.get('/os-quota-sets/:project/detail', allow('os_compute_api:os-quota-sets:show'), route(async (req, res) => {
    const project = String(req.params.project);
    const lines = (await quotas(res, project)).map((q) => [q.resource, { limit: q.limit, in_use: q.inUse, reserved: 0 }]);
    res.json({ quota_set: { id: project, ...Object.fromEntries(lines) } });
  }));
  r.get('/limits', allow('os_compute_api:limits'), route(async (req, res) => {
    const project = typeof req.query.tenant_id === 'string' ? req.query.tenant_id : null;
    const absolute: Record<string, number> = {};
    for (const q of await quotas(res, project)) {
      const [max, used] = LIMIT_NAMES[q.resource] ?? [];
      if (max) absolute[max] = q.limit;
      if (used) absolute[used] = q.inUse;
    }
    res.json({ limits: { rate: [], absolute } });
  }));
}
