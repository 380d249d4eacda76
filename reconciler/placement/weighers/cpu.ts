import type { Weigher } from '../types.ts';

/** Most free vCPUs (after the allocation ratio) wins. */
export const cpuWeigher: Weigher = {
  name: 'CPU',
  multiplierKey: 'cpu_weight_multiplier',
  weigh: (_req, host) => host.capacityVcpus - host.usedVcpus,
};
