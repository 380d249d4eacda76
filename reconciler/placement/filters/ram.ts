import type { Filter } from '../types.ts';

export const ramFilter: Filter = {
  name: 'RAM',
  check(req, host) {
    const free = host.capacityMemoryMb - host.usedMemoryMb;
    return free >= req.memoryMb ? null : `lacks RAM (need ${req.memoryMb} MiB, free ${free} MiB)`;
  },
};
