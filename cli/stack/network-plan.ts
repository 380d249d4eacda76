import { ValidationError } from '../../core/errors.ts';
import { formatCidr, overlaps, parseCidr } from '../../core/ip.ts';
import { planSubnet, type SubnetPlan } from '../../core/subnet-plan.ts';
import { DEFAULT_MTU } from '../../schema/documents/network.ts';
import type { StackKind } from '../../schema/documents/stack.ts';
import { differ, type Diff } from './diff.ts';
import { issuePath, problem, type DocPath, type StackFile } from './document.ts';
import type { LiveNetwork, LivePort, LiveSubnet, World } from './live.ts';
import type { Change, Plan, Specs } from './changes.ts';

/** The networks a stack can own: its project's (shared and external ones of other projects are only seen). */
export const ownNetworks = (w: World): LiveNetwork[] => w.networks.filter((n) => n.projectId === w.projectId);

export const ownSubnets = (w: World): LiveSubnet[] => ownNetworks(w).flatMap((n) => n.subnets);

/** The API has no update for networks: any difference replaces the network (its subnets go with it). */
export function networkDiff(s: Specs['network'], l: LiveNetwork): Diff {
  const { d, compare } = differ();
  compare('replace', 'shared', l.shared, s.shared ?? false);
  compare('replace', 'external', l.external, s.external ?? false);
  compare('replace', 'providerBridge', l.segment.bridge, s.providerBridge ?? null);
  compare('replace', 'mtu', l.mtu, s.mtu ?? DEFAULT_MTU[s.providerBridge === undefined ? 'vxlan' : 'bridge']);
  return d;
}

/** The subnet as the API would store it (defaults filled in, addresses canonical); null if the file's is invalid. */
function checkedSubnet(s: Specs['subnet']): SubnetPlan | null {
  try {
    return planSubnet(s);
  } catch (e) {
    if (e instanceof ValidationError) return null;
    throw e;
  }
}

/**
 * Nor has it one for subnets: any difference replaces the subnet, compared with the API's own
 * defaults (the gateway, the pools) so that spelling a default out changes nothing. A subnet of a
 * network being replaced is replaced with it.
 */
export function subnetDiff(s: Specs['subnet'], l: LiveSubnet, w: World, renewedNetworks: ReadonlySet<string>): Diff {
  const { d, compare } = differ();
  const network = w.networks.find((n) => n.id === l.networkId)?.name ?? l.networkId;
  const sameNetwork = s.network === network || s.network === l.networkId;
  compare('replace', 'network', network, s.network, sameNetwork);
  if (sameNetwork && renewedNetworks.has(network)) d.replace.push({ field: 'network', from: network, to: `${network} (replaced)` });
  const p = checkedSubnet(s);
  // An invalid subnet is reported by networkProblems, and the plan is refused.
  if (!p) return d;
  compare('replace', 'cidr', l.cidr, formatCidr(p.cidr));
  compare('replace', 'gatewayIp', l.gatewayIp, p.gateway);
  compare('replace', 'dnsServers', l.dnsServers, p.dnsServers);
  compare('replace', 'hostRoutes', l.hostRoutes, p.hostRoutes);
  compare('replace', 'dhcpEnabled', l.dhcpEnabled, s.dhcpEnabled ?? true);
  compare('replace', 'allocationPools', l.allocationPools, p.pools);
  return d;
}

/** Names of a kind the stack owns, the file dropped, and this apply deletes (--prune): nothing may come to rely on them. */
export function doomed(w: World, prune: boolean, kind: StackKind, inFile: readonly { name: string }[]): Set<string> {
  if (!prune) return new Set();
  return new Set(w.owned.filter((o) => o.kind === kind && !inFile.some((x) => x.name === o.name)).map((o) => o.name));
}

/**
 * Subnets checked as the API will check them (each address against its cidr, no overlap within one
 * network, in the file or with subnets the stack does not own), and the networks subnets and
 * instance NICs name: in the file, or (for a subnet) the project's own, or (for a NIC) one it may
 * attach to; a port by ID must be one of the project's.
 */
export function networkProblems(stack: StackFile, w: World, prune: boolean): string[] {
  const out: string[] = [];
  const fileNetworks = stack.doc.networks ?? [];
  const gone = doomed(w, prune, 'network', fileNetworks);
  const notFound = (path: DocPath, ref: string, where: string) => {
    const why = gone.has(ref) ? 'is deleted by this apply (--prune): keep it in the file' : `not found (neither in the file nor ${where})`;
    out.push(problem(stack, path, `network ${JSON.stringify(ref)} ${why}`));
  };
  const known = (ref: string, live: LiveNetwork[]) =>
    !gone.has(ref) && (fileNetworks.some((n) => n.name === ref) || live.some((n) => n.name === ref || n.id === ref));
  const owned = ownNetworks(w);
  const attachable = w.networks.filter((n) => n.projectId === w.projectId || n.shared);
  const ownedSubnetIds = new Set(w.owned.filter((o) => o.kind === 'subnet').map((o) => o.resourceId));

  const checked = (stack.doc.subnets ?? []).map((s, i) => {
    if (!known(s.network, owned)) notFound(['subnets', i, 'network'], s.network, 'in your project');
    try {
      return planSubnet(s);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      for (const issue of e.issues) out.push(problem(stack, issuePath(['subnets', i], issue.field), issue.message));
      return null;
    }
  });
  checked.forEach((p, i) => {
    if (!p) return;
    const s = stack.doc.subnets![i]!;
    const earlier = checked.findIndex((q, j) => j < i && q && stack.doc.subnets![j]!.network === s.network && overlaps(q.cidr, p.cidr));
    if (earlier >= 0) out.push(problem(stack, ['subnets', i, 'cidr'], `overlaps subnets[${earlier}] (${stack.doc.subnets![earlier]!.cidr}) in network ${s.network}`));
    const live = owned.find((n) => n.name === s.network || n.id === s.network);
    for (const other of live?.subnets ?? []) {
      const c = parseCidr(other.cidr);
      if (!ownedSubnetIds.has(other.id) && typeof c !== 'string' && overlaps(c, p.cidr)) {
        out.push(problem(stack, ['subnets', i, 'cidr'], `overlaps subnet ${other.name || other.id} (${other.cidr}) of network ${live!.name}, which the stack does not own`));
      }
    }
  });

  (stack.doc.instances ?? []).forEach((inst, i) =>
    (inst.networks ?? []).forEach((nic, j) => {
      if (nic.network !== undefined && !known(nic.network, attachable)) notFound(['instances', i, 'networks', j, 'network'], nic.network, 'visible to you');
      if (nic.port !== undefined && !w.ports.some((p) => p.id === nic.port && p.deviceOwner === 'compute')) {
        out.push(problem(stack, ['instances', i, 'networks', j, 'port'], `port ${nic.port} not found in your project`));
      }
    }));
  return out;
}

/** Who holds a port: the instance by name, or the port itself. */
function holder(p: LivePort, w: World): string {
  const i = p.instanceId && w.instances.find((x) => x.id === p.instanceId);
  return i ? `instance ${i.name}` : p.instanceId ? `instance ${p.instanceId}` : `port ${p.name || p.id}`;
}

type Removal = Extract<Change, { op: 'replace' | 'delete' }>;

/** What stands in the way of deleting a resource, and where the file lists it; undefined: nothing can. */
function usage(c: Removal, w: World, removedNetworks: ReadonlySet<string>) {
  switch (c.kind) {
    case 'network':
      return { list: 'networks', word: 'network', uses: (p: LivePort) => p.networkId === c.id } as const;
    case 'securityGroup':
      return { list: 'securityGroups', word: 'security group', uses: (p: LivePort) => p.securityGroupIds.includes(c.id) } as const;
    case 'subnet': {
      // A subnet of a network that goes too is covered by its network's check.
      const subnet = ownSubnets(w).find((s) => s.id === c.id);
      if (!subnet || removedNetworks.has(subnet.networkId)) return undefined;
      return { list: 'subnets', word: 'subnet', uses: (p: LivePort) => p.fixedIps.some((f) => f.subnetId === c.id) } as const;
    }
    default:
      return undefined;
  }
}

/**
 * The API refuses to delete a network with ports on it, a subnet with addresses in use or a
 * security group a port is in, so a plan that would have to is refused first, naming what uses it.
 * Replacements are deleted before any instance changes; deletions (--prune) after this plan's own
 * instance deletions are done.
 */
export function inUseProblems(stack: StackFile, plan: Plan, w: World): string[] {
  const out: string[] = [];
  const removals = plan.changes.filter((c): c is Removal => c.op === 'replace' || c.op === 'delete');
  const deleted = new Set(removals.filter((c) => c.kind === 'instance' && c.op === 'delete').map((c) => c.id));
  const removedNetworks = new Set(removals.filter((c) => c.kind === 'network').map((c) => c.id));
  for (const c of removals) {
    const u = usage(c, w, removedNetworks);
    const users = u ? w.ports.filter((p) => p.deviceOwner === 'compute' && u.uses(p) && !(c.op === 'delete' && p.instanceId && deleted.has(p.instanceId))) : [];
    if (!u || users.length === 0) continue;
    const i = (stack.doc[u.list] ?? []).findIndex((x) => x.name === c.name);
    const what = c.op === 'replace' ? `must be replaced (${c.fields.map((f) => f.field).join(', ')})` : 'is to be deleted (--prune)';
    out.push(problem(stack, i >= 0 ? [u.list, i] : [u.list],
      `${u.word} ${c.name} ${what} but is in use (${[...new Set(users.map((p) => holder(p, w)))].join(', ')}); the API deletes no ${u.word} in use: delete what uses it first`));
  }
  return out;
}
