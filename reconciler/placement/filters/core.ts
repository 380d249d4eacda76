import type { Filter, HostView } from '../types.ts';
import { capacitySummary } from './capacity.ts';

const free = (h: HostView) => h.capacityVcpus - h.usedVcpus;

export const coreFilter: Filter = {
  name: 'Core',
  check(req, host) {
    const f = free(host);
    return f >= req.vcpus ? null : `lacks vCPUs (need ${req.vcpus}, free ${f} at ratio ${host.ratios.cpu})`;
  },
  summarise: (req, rejected) => capacitySummary('vCPUs', req.vcpus, '', rejected, free),
};
