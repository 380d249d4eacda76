import type { Filter } from '../types.ts';

/** An affinity group's members share one host: once one is placed, the rest follow it. */
export const serverGroupAffinityFilter: Filter = {
  name: 'ServerGroupAffinity',
  check(req, host) {
    const g = req.group;
    if (g?.policy !== 'affinity' || g.membersByHost.size === 0 || g.membersByHost.has(host.id)) return null;
    return `not the host of affinity group ${g.name}`;
  },
};
