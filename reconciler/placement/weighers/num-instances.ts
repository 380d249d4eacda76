import type { Weigher } from '../types.ts';

/** Instance count; off by default (0), negative spreads by count, positive packs. */
export const numInstancesWeigher: Weigher = {
  name: 'NumInstances',
  multiplierKey: 'num_instances_weight_multiplier',
  weigh: (_req, host) => host.numInstances,
};
