import type { Filter } from '../types.ts';

/**
 * Hosts in an aggregate whose metadata has filter_tenant_id (or filter_tenant_id_2, …; comma
 * separated project IDs) take only those projects. Hosts in no such aggregate take anyone.
 */
export const aggregateMultiTenancyIsolationFilter: Filter = {
  name: 'AggregateMultiTenancyIsolation',
  check(req, host) {
    const allowed: string[] = [];
    for (const a of host.aggregates) {
      for (const [k, v] of Object.entries(a.metadata)) {
        if (k.startsWith('filter_tenant_id')) allowed.push(...v.split(',').map((s) => s.trim()));
      }
    }
    if (allowed.length === 0 || allowed.includes(req.projectId)) return null;
    return 'reserved for other projects (filter_tenant_id)';
  },
};
