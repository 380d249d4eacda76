import type { Filter } from '../types.ts';

export const diskFilter: Filter = {
  name: 'Disk',
  check(req, host) {
    const free = host.capacityDiskGb - host.usedDiskGb;
    return free >= req.diskGb ? null : `lacks disk (need ${req.diskGb} GiB, free ${free} GiB)`;
  },
};
