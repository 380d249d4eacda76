import type { Filter } from '../types.ts';

/** The `same_host` hint: only hosts that hold at least one of the named instances. */
export const sameHostFilter: Filter = {
  name: 'SameHost',
  check(req, host) {
    if (req.sameHostIds === null || req.sameHostIds.includes(host.id)) return null;
    return 'holds none of the instances named by same_host';
  },
};
