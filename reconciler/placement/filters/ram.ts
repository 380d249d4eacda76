import type { Filter, HostView } from '../types.ts';
import { capacitySummary } from './capacity.ts';

const free = (h: HostView) => h.capacityMemoryMb - h.usedMemoryMb;

/** Free RAM after reserved memory and the effective allocation ratio (host, aggregate or default). */
export const ramFilter: Filter = {
  name: 'RAM',
  check(req, host) {
    const f = free(host);
    return f >= req.memoryMb ? null : `lacks RAM (need ${req.memoryMb} MiB, free ${f} MiB at ratio ${host.ratios.ram})`;
  },
  summarise: (req, rejected) => capacitySummary('RAM', req.memoryMb, ' MiB', rejected, free),
};
