import type { Weigher } from '../types.ts';

/** Most free memory wins (a positive multiplier spreads, a negative one stacks), as Nova's RAMWeigher. */
export const ramWeigher: Weigher = {
  name: 'RAM',
  multiplierKey: 'ram_weight_multiplier',
  weigh: (_req, host) => host.capacityMemoryMb - host.usedMemoryMb,
};
