import { aggregateMinimum } from '../aggregate-values.ts';
import type { Filter } from '../types.ts';

/** At most maxInstancesPerHost instances (aggregate max_instances_per_host overrides, smallest wins). */
export const numInstancesFilter: Filter = {
  name: 'NumInstances',
  check(req, host) {
    const max = aggregateMinimum(host, 'max_instances_per_host') ?? req.config.maxInstancesPerHost;
    return host.numInstances < max ? null : `runs ${host.numInstances} instances (max ${max})`;
  },
};
