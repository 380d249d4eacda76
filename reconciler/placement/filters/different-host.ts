import type { Filter } from '../types.ts';

/** The `different_host` hint: only hosts that hold none of the named instances. */
export const differentHostFilter: Filter = {
  name: 'DifferentHost',
  check(req, host) {
    if (req.differentHostIds === null || !req.differentHostIds.includes(host.id)) return null;
    return 'holds an instance named by different_host';
  },
};
