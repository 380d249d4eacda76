import type { Weigher } from '../types.ts';

/** I/O-heavy tasks in flight; the default multiplier (-1) prefers quiet hosts. */
export const ioOpsWeigher: Weigher = {
  name: 'IoOps',
  multiplierKey: 'io_ops_weight_multiplier',
  weigh: (_req, host) => host.numIoOps,
};
