import type { SecurityGroupRuleSpec } from '../schema/documents/network.ts';
import { ValidationError } from './errors.ts';
import { requireCidr } from './ip-fields.ts';
import { formatCidr } from './ip.ts';

/** A rule's own fields: what `orrery plan` checks in a file's group, and the API in each new rule. */
export type RuleFields = Omit<SecurityGroupRuleSpec, 'securityGroup'>;

/** A rule as the table holds it: the ethertype decided, the remote CIDR in its canonical form. */
export interface CheckedRule {
  ethertype: 'IPv4' | 'IPv6';
  remoteCidr: string | null;
}

/** Ports only tcp and udp have; icmp's type and code ride in the same fields, as in Neutron. */
function checkPorts(s: RuleFields, root: string): void {
  const ranged = s.protocol === 'tcp' || s.protocol === 'udp';
  const icmp = s.protocol === 'icmp' || s.protocol === 'icmpv6';
  for (const f of ['portMin', 'portMax'] as const) {
    if (s[f] !== undefined && !ranged && !icmp) throw ValidationError.field(`${root}.${f}`, 'needs protocol tcp, udp, icmp or icmpv6');
    if (icmp && s[f] !== undefined && s[f]! > 255) throw ValidationError.field(`${root}.${f}`, 'is an ICMP type or code (0-255)');
  }
  if (ranged && s.portMin !== undefined && s.portMax !== undefined && s.portMin > s.portMax) {
    throw ValidationError.field(`${root}.portMax`, 'must be at least portMin');
  }
}

/** Checks one rule beyond its schema (fields named under `root`); the ethertype follows a remote CIDR's version. */
export function checkRule(s: RuleFields, root = 'input'): CheckedRule {
  if (s.remoteCidr !== undefined && s.remoteGroup !== undefined) throw ValidationError.field(`${root}.remoteGroup`, 'cannot be given with remoteCidr');
  checkPorts(s, root);
  const cidr = s.remoteCidr !== undefined ? requireCidr(s.remoteCidr, `${root}.remoteCidr`) : null;
  const ethertype = s.ethertype ?? (cidr?.version === 6 ? 'IPv6' : 'IPv4');
  if (cidr && `IPv${cidr.version}` !== ethertype) throw ValidationError.field(`${root}.remoteCidr`, `is not an ${ethertype} CIDR`);
  if ((s.protocol === 'icmp' && ethertype === 'IPv6') || (s.protocol === 'icmpv6' && ethertype === 'IPv4')) {
    throw ValidationError.field(`${root}.protocol`, `${s.protocol} does not go with ${ethertype}`);
  }
  return { ethertype, remoteCidr: cidr ? formatCidr(cidr) : null };
}
