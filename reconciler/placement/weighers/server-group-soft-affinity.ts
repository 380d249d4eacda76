import type { Weigher } from '../types.ts';

/** soft-affinity: the more members of the group a host holds, the better. */
export const serverGroupSoftAffinityWeigher: Weigher = {
  name: 'ServerGroupSoftAffinity',
  multiplierKey: 'soft_affinity_weight_multiplier',
  weigh: (req, host) => (req.group?.policy === 'soft-affinity' ? (req.group.membersByHost.get(host.id) ?? 0) : 0),
};
