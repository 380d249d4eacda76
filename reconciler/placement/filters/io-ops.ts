import { aggregateMinimum } from '../aggregate-values.ts';
import type { Filter } from '../types.ts';

/** Fewer than maxIoOpsPerHost instances in I/O-heavy tasks (aggregate max_io_ops_per_host overrides). */
export const ioOpsFilter: Filter = {
  name: 'IoOps',
  check(req, host) {
    const max = aggregateMinimum(host, 'max_io_ops_per_host') ?? req.config.maxIoOpsPerHost;
    return host.numIoOps < max ? null : `${host.numIoOps} I/O-heavy tasks in flight (max ${max})`;
  },
};
