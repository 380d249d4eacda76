import type { Filter } from '../types.ts';

/** A host that already failed to build this instance is not tried again. */
export const retryFilter: Filter = {
  name: 'Retry',
  check(req, host) {
    return req.failedHostIds.includes(host.id) ? 'already failed to build this instance' : null;
  },
};
