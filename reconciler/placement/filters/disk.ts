import type { Filter, HostView } from '../types.ts';
import { capacitySummary } from './capacity.ts';

const free = (h: HostView) => h.capacityDiskGb - h.usedDiskGb;

export const diskFilter: Filter = {
  name: 'Disk',
  check(req, host) {
    const f = free(host);
    return f >= req.diskGb ? null : `lacks disk (need ${req.diskGb} GiB, free ${f} GiB at ratio ${host.ratios.disk})`;
  },
  summarise: (req, rejected) => capacitySummary('disk', req.diskGb, ' GiB', rejected, free),
};
