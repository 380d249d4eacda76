import type { Filter } from '../types.ts';

export const coreFilter: Filter = {
  name: 'Core',
  check(req, host) {
    const free = host.capacityVcpus - host.usedVcpus;
    return free >= req.vcpus ? null : `lacks vCPUs (need ${req.vcpus}, free ${free})`;
  },
};
