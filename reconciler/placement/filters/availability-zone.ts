import type { Filter } from '../types.ts';

export const availabilityZoneFilter: Filter = {
  name: 'AvailabilityZone',
  check(req, host) {
    if (req.zone === null || host.zone === req.zone) return null;
    return `in zone ${host.zone ?? '(none)'}, not ${req.zone}`;
  },
  summarise: (req) => `not in zone ${req.zone}`,
};
