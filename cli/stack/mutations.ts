import type { OrreryClient } from '../../client/graphql.ts';
import type { RuleFields } from '../../core/security-group-rule.ts';
import type { StackKind } from '../../schema/documents/stack.ts';
import { ERROR_FIELDS, unwrap } from '../client/errors.ts';
import type { Specs } from './changes.ts';

/** The GraphQL calls apply makes: each through the same typed mutations as every other client. */

const pairs = (map: Record<string, string> | undefined) => Object.entries(map ?? {}).map(([key, value]) => ({ key, value }));

async function call(client: OrreryClient, mutation: string, args: string, vars: Record<string, unknown>, select: string) {
  const name = mutation.slice(0, mutation.indexOf('('));
  const success = `${name[0]!.toUpperCase()}${name.slice(1)}Success`;
  const d = await client.request(`mutation(${args}) { ${mutation} { ${ERROR_FIELDS} ... on ${success} { ${select} } } }`, vars);
  return unwrap(d[name]);
}

interface InstanceState {
  id: string;
  generation: number;
}

export async function createResource<K extends Exclude<StackKind, 'instance'>>(client: OrreryClient, kind: K, spec: Specs[K]): Promise<string> {
  switch (kind) {
    case 'flavor': {
      const { extraSpecs, ...s } = spec as Specs['flavor'];
      return (await call(client, 'createFlavor(input: $i)', '$i: FlavorInput!', { i: { ...s, extraSpecs: pairs(extraSpecs) } }, 'flavor { id }')).flavor.id;
    }
    case 'aggregate': {
      const s = spec as Specs['aggregate'];
      const i = { name: s.name, hosts: s.hosts ?? [], metadata: pairs(s.metadata) };
      return (await call(client, 'createAggregate(input: $i)', '$i: AggregateInput!', { i }, 'aggregate { id }')).aggregate.id;
    }
    case 'availabilityZone':
      return (await call(client, 'createAvailabilityZone(input: $i)', '$i: AvailabilityZoneInput!', { i: spec }, 'availabilityZone { id }')).availabilityZone.id;
    case 'keyPair':
      return (await call(client, 'createKeyPair(input: $i)', '$i: KeyPairInput!', { i: spec }, 'keyPair { id }')).keyPair.id;
    case 'serverGroup': {
      const s = spec as Specs['serverGroup'];
      const i = { name: s.name, policy: s.policy.replace(/-/g, '_'), maxServerPerHost: s.rules?.maxServerPerHost };
      return (await call(client, 'createServerGroup(input: $i)', '$i: ServerGroupInput!', { i }, 'serverGroup { id }')).serverGroup.id;
    }
    case 'network':
      return (await call(client, 'createNetwork(input: $i)', '$i: NetworkInput!', { i: spec }, 'network { id }')).network.id;
    case 'securityGroup': {
      const s = spec as Specs['securityGroup'];
      const i = { name: s.name, description: s.description };
      const g = (await call(client, 'createSecurityGroup(input: $i)', '$i: SecurityGroupInput!', { i }, 'securityGroup { id rules { id } }')).securityGroup;
      // The file's rules are the whole set: the API's starting rules go, and apply adds the file's.
      for (const r of g.rules as { id: string }[]) await deleteRule(client, r.id);
      return g.id;
    }
    default:
      return (await call(client, 'createSubnet(input: $i)', '$i: SubnetInput!', { i: spec }, 'subnet { id }')).subnet.id;
  }
}

/** Zones (their description) and aggregates (hosts, metadata) are the catalogue kinds changed in place. */
export async function updateResource(client: OrreryClient, kind: 'availabilityZone' | 'aggregate', id: string, spec: Specs['availabilityZone'] | Specs['aggregate']): Promise<void> {
  if (kind === 'availabilityZone') {
    const s = spec as Specs['availabilityZone'];
    await call(client, 'updateAvailabilityZone(ref: $ref, input: $i)', '$ref: String!, $i: AvailabilityZonePatch!',
      { ref: id, i: { description: s.description ?? '' } }, 'availabilityZone { id }');
    return;
  }
  const s = spec as Specs['aggregate'];
  await call(client, 'updateAggregate(ref: $ref, input: $i)', '$ref: String!, $i: AggregatePatch!',
    { ref: id, i: { hosts: s.hosts ?? [], metadata: pairs(s.metadata) } }, 'aggregate { id }');
}

export async function deleteResource(client: OrreryClient, kind: Exclude<StackKind, 'instance'>, id: string, name: string): Promise<void> {
  if (kind === 'keyPair') {
    await call(client, 'deleteKeyPair(name: $name)', '$name: String!', { name }, 'keyPair { id }');
    return;
  }
  if (kind === 'subnet') {
    await call(client, 'deleteSubnet(id: $id)', '$id: ID!', { id }, 'subnet { id }');
    return;
  }
  const [mutation, field] = ({
    flavor: ['deleteFlavor', 'flavor'], availabilityZone: ['deleteAvailabilityZone', 'availabilityZone'], aggregate: ['deleteAggregate', 'aggregate'], serverGroup: ['deleteServerGroup', 'serverGroup'],
    network: ['deleteNetwork', 'network'], securityGroup: ['deleteSecurityGroup', 'securityGroup'],
  } as const)[kind];
  await call(client, `${mutation}(ref: $ref)`, '$ref: String!', { ref: id }, `${field} { id }`);
}

export async function createRule(client: OrreryClient, group: string, rule: RuleFields): Promise<void> {
  await call(client, 'createSecurityGroupRule(input: $i)', '$i: SecurityGroupRuleInput!', { i: { ...rule, securityGroup: group } }, 'rule { id }');
}

export async function deleteRule(client: OrreryClient, id: string): Promise<void> {
  await call(client, 'deleteSecurityGroupRule(id: $id)', '$id: ID!', { id }, 'rule { id }');
}

export async function createInstance(client: OrreryClient, s: Specs['instance']): Promise<InstanceState> {
  const i = { ...s, metadata: pairs(s.metadata) };
  return (await call(client, 'createInstance(input: $i)', '$i: CreateInstanceInput!', { i }, 'instance { id generation }')).instance;
}

/** One step of an instance change (the API takes one of image, flavor and power state at a time). */
export type InstanceStep = { metadata?: Record<string, string>; tags?: string[]; image?: string; flavor?: string; powerState?: string };

export async function updateInstance(client: OrreryClient, id: string, step: InstanceStep): Promise<InstanceState> {
  const i = { ...step, ...(step.metadata ? { metadata: pairs(step.metadata) } : {}) };
  return (await call(client, 'updateInstance(id: $id, input: $i)', '$id: ID!, $i: UpdateInstanceInput!', { id, i }, 'instance { id generation }')).instance;
}

export async function confirmResize(client: OrreryClient, id: string): Promise<InstanceState> {
  return (await call(client, 'confirmResize(id: $id)', '$id: ID!', { id }, 'instance { id generation }')).instance;
}

export async function deleteInstance(client: OrreryClient, id: string): Promise<void> {
  await call(client, 'deleteInstance(id: $id)', '$id: ID!', { id }, 'instance { id }');
}

export async function recordOwned(client: OrreryClient, stack: string, kind: StackKind, name: string, resourceId: string, applied: unknown): Promise<void> {
  await call(client, 'recordStackResource(input: $i)', '$i: StackResourceInput!', { i: { stack, kind, name, resourceId, applied } }, 'stackResource { name }');
}

export async function forgetOwned(client: OrreryClient, stack: string, kind: StackKind, name: string): Promise<void> {
  await call(client, 'forgetStackResource(stack: $stack, kind: $kind, name: $name)', '$stack: String!, $kind: StackResourceKind!, $name: String!',
    { stack, kind, name }, 'stackResource { name }');
}
