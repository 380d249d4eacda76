import type { Weigher } from '../types.ts';

/** Most free disk wins. */
export const diskWeigher: Weigher = {
  name: 'Disk',
  multiplierKey: 'disk_weight_multiplier',
  weigh: (_req, host) => host.capacityDiskGb - host.usedDiskGb,
};
