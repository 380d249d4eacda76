import type { Filter } from '../types.ts';

/** At most max_server_per_host members of an anti-affinity group per host (default 1). */
export const serverGroupAntiAffinityFilter: Filter = {
  name: 'ServerGroupAntiAffinity',
  check(req, host) {
    const g = req.group;
    if (g?.policy !== 'anti-affinity') return null;
    const here = g.membersByHost.get(host.id) ?? 0;
    if (here < g.maxServerPerHost) return null;
    return `holds ${here} member(s) of anti-affinity group ${g.name} (max ${g.maxServerPerHost} per host)`;
  },
};
