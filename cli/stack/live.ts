import type { OrreryClient } from '../../client/graphql.ts';
import type { StackKind } from '../../schema/documents/stack.ts';
import { allPages } from '../client/get.ts';

type Pairs = { key: string; value: string }[];

export interface OwnedResource {
  kind: StackKind;
  name: string;
  resourceId: string;
  applied: Record<string, unknown>;
}

export interface LiveFlavor { id: string; name: string; vcpus: number; ramMb: number; diskGb: number; ephemeralGb: number; swapMb: number; extraSpecs: Pairs; isPublic: boolean; description: string }
export interface LiveZone { id: string; name: string; description: string }
export interface LiveAggregate { id: string; name: string; hosts: string[]; metadata: Pairs }
export interface LiveHost { id: string; name: string }
export interface LiveServerGroup { id: string; name: string; policy: string; rules: { maxServerPerHost: number | null } }
export interface LiveKeyPair { id: string; name: string; publicKey: string }
export interface LiveImage { id: string; name: string; status: string }
export interface LiveSubnet {
  id: string; name: string; networkId: string; cidr: string; gatewayIp: string | null; dnsServers: string[];
  hostRoutes: { destination: string; nexthop: string }[]; dhcpEnabled: boolean; allocationPools: { first: string; last: string }[];
}
export interface LiveNetwork {
  id: string; name: string; projectId: string; shared: boolean; external: boolean; mtu: number;
  segment: { kind: 'vxlan' | 'bridge'; bridge: string | null }; subnets: LiveSubnet[];
}
/** A port of the project: what keeps a network, subnet or security group from being deleted. */
export interface LivePort {
  id: string; name: string; networkId: string; instanceId: string | null; deviceOwner: string; fixedIps: { subnetId: string }[]; securityGroupIds: string[];
}
export interface LiveRule {
  id: string; direction: string; ethertype: string; protocol: string | null; portMin: number | null; portMax: number | null;
  remoteCidr: string | null; remoteGroupId: string | null;
}
export interface LiveSecurityGroup { id: string; name: string; description: string; rules: LiveRule[] }
export interface LiveInstance {
  id: string; name: string; deleting: boolean; status: string; taskState: string | null; desiredPowerState: string;
  generation: number; flavor: { id: string; name: string }; imageId: string; requestedZone: string | null; metadata: Pairs; tags: string[];
}

/** Everything a plan compares the file with, as the caller's token sees it now. */
export interface World {
  /** The caller's project: networks and subnets of others (shared, external) are never the stack's. */
  projectId: string;
  owned: OwnedResource[];
  flavors: LiveFlavor[];
  zones: LiveZone[];
  /** Aggregates and hosts are read only when the file or the stack has aggregates (admins only list them). */
  aggregates: LiveAggregate[];
  hosts: LiveHost[];
  serverGroups: LiveServerGroup[];
  keyPairs: LiveKeyPair[];
  images: LiveImage[];
  /** The project's networks with their subnets, and the shared and external ones it can see. */
  networks: LiveNetwork[];
  ports: LivePort[];
  securityGroups: LiveSecurityGroup[];
  instances: LiveInstance[];
}

const CATALOGUE = `query($stack: String!) {
  stack(name: $stack) { resources { kind name resourceId applied } }
  flavors { id name vcpus ramMb diskGb ephemeralGb swapMb extraSpecs { key value } isPublic description }
  availabilityZones { id name description }
  serverGroups { id name policy rules { maxServerPerHost } }
  keyPairs { id name publicKey }
  images { id name status }
  whoami { projectId }
  networks { id name projectId shared external mtu segment { kind bridge }
    subnets { id name networkId cidr gatewayIp dnsServers hostRoutes { destination nexthop } dhcpEnabled allocationPools { first last } } }
  ports { id name networkId instanceId deviceOwner fixedIps { subnetId } securityGroupIds }
  securityGroups { id name description rules { id direction ethertype protocol portMin portMax remoteCidr remoteGroupId } }
}`;

const INSTANCES = `query($after: String) { instances(first: 100, after: $after) {
  edges { node { id name deleting status taskState desiredPowerState generation flavor { id name } imageId requestedZone
    metadata { key value } tags } }
  pageInfo { hasNextPage endCursor } } }`;

const HOSTS = `query($after: String) { hosts(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }`;

export async function readWorld(client: OrreryClient, stack: string, fileHasAggregates: boolean): Promise<World> {
  const [c, instances] = await Promise.all([
    client.request(CATALOGUE, { stack }),
    allPages(client, 'instances', INSTANCES, {}) as Promise<LiveInstance[]>,
  ]);
  const owned: OwnedResource[] = c.stack?.resources ?? [];
  const withAggregates = fileHasAggregates || owned.some((o) => o.kind === 'aggregate');
  const [aggregates, hosts] = withAggregates
    ? await Promise.all([
      client.request(`{ aggregates { id name hosts metadata { key value } } }`).then((d) => d.aggregates as LiveAggregate[]),
      allPages(client, 'hosts', HOSTS, {}) as Promise<LiveHost[]>,
    ])
    : [[], []];
  return {
    projectId: c.whoami.projectId,
    owned,
    flavors: c.flavors,
    zones: c.availabilityZones,
    aggregates,
    hosts,
    // The API spells policies as GraphQL enum values (anti_affinity); files use Nova's (anti-affinity).
    serverGroups: (c.serverGroups as LiveServerGroup[]).map((g) => ({ ...g, policy: g.policy.replace(/_/g, '-') })),
    keyPairs: c.keyPairs,
    images: c.images,
    networks: c.networks,
    ports: c.ports,
    securityGroups: c.securityGroups,
    instances,
  };
}
