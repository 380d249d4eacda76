import type { Weigher } from '../types.ts';

/** soft-anti-affinity: the fewer members of the group a host holds, the better. */
export const serverGroupSoftAntiAffinityWeigher: Weigher = {
  name: 'ServerGroupSoftAntiAffinity',
  multiplierKey: 'soft_anti_affinity_weight_multiplier',
  weigh: (req, host) => (req.group?.policy === 'soft-anti-affinity' ? -(req.group.membersByHost.get(host.id) ?? 0) : 0),
};
