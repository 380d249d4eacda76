import type { Filter } from '../types.ts';

/**
 * The host a move leaves is never its destination (Nova's ignore_hosts), whichever filters an
 * operator switched on; a resize that may stay (allow_resize_to_same_host) ignores none.
 */
export const ignoredHostsFilter: Filter = {
  name: 'IgnoredHosts',
  check(req, host) {
    return req.ignoredHostIds.includes(host.id) ? 'the instance is moving away from it' : null;
  },
};
