import { describe, expect, it } from 'vitest';
import type { StackFile } from '../cli/stack/document.ts';
import type { LiveNetwork, LivePort, LiveRule, LiveSecurityGroup, OwnedResource, World } from '../cli/stack/live.ts';
import { planStack, renderPlan } from '../cli/stack/plan.ts';
import type { StackDocument } from '../schema/documents/stack.ts';

const PROJECT = '00000000-0000-4000-8000-0000000000bb';
const NET_ID = '00000000-0000-4000-8000-000000000011';
const SUBNET_ID = '00000000-0000-4000-8000-000000000012';

const liveNet = (over: Partial<LiveNetwork> = {}): LiveNetwork => ({
  id: NET_ID, name: 'net-1', projectId: PROJECT, shared: false, external: false, mtu: 1450, segment: { kind: 'vxlan', bridge: null },
  subnets: [{
    id: SUBNET_ID, name: 'a', networkId: NET_ID, cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', dnsServers: [], hostRoutes: [],
    dhcpEnabled: true, allocationPools: [{ first: '10.0.0.2', last: '10.0.0.254' }],
  }],
  ...over,
});

const NET = { name: 'net-1' };
const SUBNET = { name: 'a', network: 'net-1', cidr: '10.0.0.0/24' };
const OWNED: OwnedResource[] = [
  { kind: 'network', name: 'net-1', resourceId: NET_ID, applied: NET },
  { kind: 'subnet', name: 'a', resourceId: SUBNET_ID, applied: SUBNET },
];

function world(networks: LiveNetwork[], ports: LivePort[] = [], owned = OWNED, securityGroups: LiveSecurityGroup[] = []): World {
  return {
    projectId: PROJECT, owned, flavors: [], zones: [], aggregates: [], hosts: [], serverGroups: [], keyPairs: [], images: [], networks, ports, securityGroups, instances: [],
  };
}

const file = (doc: Partial<StackDocument>): StackFile =>
  ({ file: 's.yaml', doc: { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 's' }, ...doc }, at: () => 's.yaml:1' });

const userPort: LivePort = { id: '00000000-0000-4000-8000-000000000099', name: 'keep', networkId: NET_ID, instanceId: null, deviceOwner: 'compute', fixedIps: [{ subnetId: SUBNET_ID }], securityGroupIds: [] };

describe('planStack with networks and subnets', () => {
  it("replaces a network whose segment changed, and its subnets with it (they go with the old one)", () => {
    const plan = planStack(file({ networks: [{ ...NET, mtu: 1400 }], subnets: [SUBNET] }), 's', world([liveNet()]), false);
    expect(plan.problems).toEqual([]);
    expect(renderPlan(plan)).toEqual([
      '-/+ network/net-1 (mtu: 1450 → 1400)',
      '-/+ subnet/a (network: net-1 → net-1 (replaced))',
      'Plan: 0 to create, 0 to change, 2 to replace, 0 to delete.',
    ]);
  });

  it('refuses to replace or prune a network a port is on, naming the port; a subnet of it is not named twice', () => {
    const replace = planStack(file({ networks: [{ ...NET, mtu: 1400 }], subnets: [SUBNET] }), 's', world([liveNet()], [userPort]), false);
    expect(replace.problems).toEqual([
      's.yaml:1: networks[0]: network net-1 must be replaced (mtu) but is in use (port keep); the API deletes no network in use: delete what uses it first',
    ]);
    const prune = planStack(file({}), 's', world([liveNet()], [userPort]), true);
    expect(prune.problems).toEqual([
      's.yaml:1: networks: network net-1 is to be deleted (--prune) but is in use (port keep); the API deletes no network in use: delete what uses it first',
    ]);
  });

  it('sees a provider bridge network (admins) at its 1500 default, and a shared network of another project as not the stack\'s to own', () => {
    const bridge = liveNet({ mtu: 1500, segment: { kind: 'bridge', bridge: 'br-ex' }, subnets: [] });
    const same = planStack(file({ networks: [{ ...NET, providerBridge: 'br-ex' }] }), 's', world([bridge], [], [OWNED[0]!]), false);
    expect(renderPlan(same)).toEqual(['No changes: stack s matches the file.']);

    const foreign = liveNet({ projectId: '00000000-0000-4000-8000-0000000000cc', shared: true });
    const plan = planStack(file({ networks: [NET], subnets: [SUBNET] }), 's', world([foreign], [], []), false);
    expect(plan.problems).toEqual([]);
    expect(renderPlan(plan)).toEqual(['+ network/net-1', '+ subnet/a', 'Plan: 2 to create, 0 to change, 0 to replace, 0 to delete.']);
  });

  it('refuses a subnet on a network the same apply deletes (--prune), and one overlapping a subnet the stack does not own', () => {
    const theirs = liveNet();
    const dropped = planStack(file({ subnets: [{ ...SUBNET, name: 'b', cidr: '10.1.0.0/24' }] }), 's', world([theirs], [], [OWNED[0]!]), true);
    expect(dropped.problems).toEqual([
      's.yaml:1: subnets[0].network: network "net-1" is deleted by this apply (--prune): keep it in the file',
    ]);
    const overlap = planStack(file({ networks: [NET], subnets: [{ ...SUBNET, name: 'b', cidr: '10.0.0.128/25' }] }), 's', world([theirs], [], [OWNED[0]!]), false);
    expect(overlap.problems).toEqual([
      's.yaml:1: subnets[0].cidr: overlaps subnet a (10.0.0.0/24) of network net-1, which the stack does not own',
    ]);
  });
});

const WEB_ID = '00000000-0000-4000-8000-000000000021';
const DB_ID = '00000000-0000-4000-8000-000000000022';
let ruleIds = 0;
const liveRule = (over: Partial<LiveRule>): LiveRule => ({
  id: `00000000-0000-4000-8000-0000000001${String(ruleIds++).padStart(2, '0')}`, direction: 'ingress', ethertype: 'IPv4', protocol: null,
  portMin: null, portMax: null, remoteCidr: null, remoteGroupId: null, ...over,
});
const SSH = { direction: 'ingress' as const, protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' };
const FROM_WEB = { direction: 'ingress' as const, protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' };
const groups = (): LiveSecurityGroup[] => [
  { id: WEB_ID, name: 'web', description: '', rules: [liveRule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteCidr: '10.0.0.0/8' })] },
  { id: DB_ID, name: 'db', description: '', rules: [liveRule({ protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroupId: WEB_ID })] },
];
const OWNED_GROUPS: OwnedResource[] = [
  { kind: 'securityGroup', name: 'web', resourceId: WEB_ID, applied: { name: 'web', rules: [SSH] } },
  { kind: 'securityGroup', name: 'db', resourceId: DB_ID, applied: { name: 'db', rules: [FROM_WEB] } },
];

describe('planStack with security groups', () => {
  it('matches rules as a set, as the API stores them: the ethertype by default, the remote group by name or ID', () => {
    const byId = { ...FROM_WEB, remoteGroup: WEB_ID };
    const plan = planStack(file({ securityGroups: [{ name: 'web', rules: [{ ...SSH, ethertype: 'IPv4' }] }, { name: 'db', rules: [byId] }] }), 's',
      world([], [], OWNED_GROUPS, groups()), false);
    expect(plan.problems).toEqual([]);
    expect(renderPlan(plan)).toEqual(['No changes: stack s matches the file.']);
  });

  it('removes one of two identical live rules when the file lists it once', () => {
    const live = groups();
    live[0]!.rules.push({ ...live[0]!.rules[0]!, id: '00000000-0000-4000-8000-000000000199' });
    const plan = planStack(file({ securityGroups: [{ name: 'web', rules: [SSH] }, { name: 'db', rules: [FROM_WEB] }] }), 's', world([], [], OWNED_GROUPS, live), false);
    expect(renderPlan(plan)).toEqual(['- security-group-rule/web (ingress IPv4 tcp port 22 from 10.0.0.0/8)', 'Plan: 0 to create, 0 to change, 0 to replace, 1 to delete.']);
    expect(plan.changes).toContainEqual(expect.objectContaining({ op: 'delete', id: '00000000-0000-4000-8000-000000000199' }));
  });

  it("replaces a group whose description changed with all its rules, and adds again the rules naming it that the delete takes along", () => {
    const plan = planStack(file({ securityGroups: [{ name: 'web', description: 'new', rules: [SSH] }, { name: 'db', rules: [FROM_WEB] }] }), 's',
      world([], [], OWNED_GROUPS, groups()), false);
    expect(plan.problems).toEqual([]);
    expect(renderPlan(plan)).toEqual([
      '-/+ security-group/web (description: (none) → new)',
      '+ security-group-rule/web (ingress IPv4 tcp port 22 from 10.0.0.0/8)',
      '+ security-group-rule/db (ingress IPv4 tcp port 5432 from group web)',
      'Plan: 2 to create, 0 to change, 1 to replace, 0 to delete.',
    ]);
  });

  it('refuses to replace a group a port is in, naming the port', () => {
    const port: LivePort = { ...userPort, securityGroupIds: [WEB_ID] };
    const plan = planStack(file({ securityGroups: [{ name: 'web', description: 'new', rules: [SSH] }, { name: 'db', rules: [FROM_WEB] }] }), 's',
      world([liveNet()], [port], OWNED_GROUPS, groups()), false);
    expect(plan.problems).toEqual([
      's.yaml:1: securityGroups[0]: security group web must be replaced (description) but is in use (port keep); the API deletes no security group in use: delete what uses it first',
    ]);
  });

  it('refuses a rule naming a group this apply deletes (--prune), and a rule the API would refuse', () => {
    const plan = planStack(file({ securityGroups: [{ name: 'db', rules: [FROM_WEB, { direction: 'ingress', protocol: 'icmp', portMin: 300 }] }] }), 's',
      world([], [], OWNED_GROUPS, groups()), true);
    expect(plan.problems).toEqual([
      's.yaml:1: securityGroups[0].rules[0].remoteGroup: security group "web" is deleted by this apply (--prune): keep it in the file',
      's.yaml:1: securityGroups[0].rules[1].portMin: is an ICMP type or code (0-255)',
    ]);
  });
});
