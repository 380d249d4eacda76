import type { Filter } from '../types.ts';

/**
 * An admin named the destination (migrate, live-migrate, evacuate or unshelve to a host): every
 * other host is out, and the other filters still judge the named one, as Nova's scheduler
 * validates a requested destination rather than trusting it.
 */
export const requestedDestinationFilter: Filter = {
  name: 'RequestedDestination',
  check(req, host) {
    return req.requestedHostId !== null && host.id !== req.requestedHostId ? 'not the requested destination' : null;
  },
};
