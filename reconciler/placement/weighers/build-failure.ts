import type { Weigher } from '../types.ts';

/** Hosts whose recent builds failed sink (Nova's default multiplier 1e6 outweighs everything else). */
export const buildFailureWeigher: Weigher = {
  name: 'BuildFailure',
  multiplierKey: 'build_failure_weight_multiplier',
  weigh: (_req, host) => -host.buildFailures,
};
