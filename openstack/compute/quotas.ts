import { Router, type Response } from 'express';
import { run } from '../graphql.ts';
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

async function quotas(res: Response, project: string | null): Promise<QuotaNode[]> {
  const d = await run<{ quotas: QuotaNode[] }>(ctxOf(res), `query($p: String) { quotas(project: $p) { resource limit inUse } }`, { p: project });
  return d.quotas;
}

export function quotaRoutes(r: Router): void {
  r.get('/os-quota-sets/:project', allow('os_compute_api:os-quota-sets:show'), route(async (req, res) => {
    const project = String(req.params.project);
    res.json({ quota_set: { id: project, ...Object.fromEntries((await quotas(res, project)).map((q) => [q.resource, q.limit])) } });
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
