import type { FromSchema } from 'json-schema-to-ts';
import { name, uuid } from './common.ts';
import { flavorSpecSchema } from './flavor.ts';
import { instanceSpecSchema } from './instance.ts';
import { keyPairSpecSchema } from './key-pair.ts';
import { networkSpecSchema, securityGroupWithRulesSchema, subnetSpecSchema } from './network.ts';
import { serverGroupSpecSchema } from './server-group.ts';
import { aggregateSpecSchema, zoneSpecSchema } from './zone.ts';

/** Kinds of resource a stack can own, as they are recorded and shown (`instance/web-1`). */
export const stackKinds = ['flavor', 'availabilityZone', 'aggregate', 'serverGroup', 'keyPair', 'network', 'subnet', 'securityGroup', 'instance'] as const;
export type StackKind = (typeof stackKinds)[number];

/** A stack's name: it is typed on command lines and shown in plans, so no spaces or slashes. */
export const stackName = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' } as const;

export const stackNameSchema = { $id: 'orrery/stack-name', ...stackName } as const;

/** A resource schema nested in the document: the same rules, without an $id of its own. */
function item<S extends { $id: string }>({ $id: _id, ...rest }: S): Omit<S, '$id'> {
  return rest;
}

/**
 * A desired-state file (`orrery plan/apply -f`): what one stack should own. Each list item is
 * the resource's own spec schema, so a file accepts exactly what the API accepts. Key pairs must
 * carry their public key: a generated private key would be shown once and lost in an apply. Subnets
 * must have a name: the stack records each resource by its name. A security group carries its
 * whole rule set.
 */
export const stackDocumentSchema = {
  $id: 'orrery/stack',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: { const: 'orrery/v1' },
    kind: { const: 'Stack' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: stackName, description: { type: 'string', maxLength: 65535 } },
    },
    flavors: { type: 'array', items: item(flavorSpecSchema) },
    availabilityZones: { type: 'array', items: item(zoneSpecSchema) },
    aggregates: { type: 'array', items: item(aggregateSpecSchema) },
    serverGroups: { type: 'array', items: item(serverGroupSpecSchema) },
    keyPairs: { type: 'array', items: { ...item(keyPairSpecSchema), required: ['name', 'publicKey'] } },
    networks: { type: 'array', items: item(networkSpecSchema) },
    subnets: { type: 'array', items: { ...item(subnetSpecSchema), required: ['name', 'network', 'cidr'] } },
    securityGroups: { type: 'array', items: item(securityGroupWithRulesSchema) },
    instances: { type: 'array', items: item(instanceSpecSchema) },
  },
} as const;

export type StackDocument = FromSchema<typeof stackDocumentSchema>;

/** One resource recorded as a stack's (`recordStackResource`); `applied` is checked against its kind's spec schema. */
export const stackRecordSchema = {
  $id: 'orrery/stack-record',
  type: 'object',
  additionalProperties: false,
  required: ['stack', 'kind', 'name', 'resourceId', 'applied'],
  properties: {
    stack: stackName,
    kind: { enum: stackKinds },
    name,
    resourceId: uuid,
    applied: { type: 'object' },
  },
} as const;

export type StackRecord = FromSchema<typeof stackRecordSchema>;

/** The spec schema a recorded resource's `applied` document must satisfy. */
export const specSchemaOf: Record<StackKind, { $id: string }> = {
  flavor: flavorSpecSchema,
  availabilityZone: zoneSpecSchema,
  aggregate: aggregateSpecSchema,
  serverGroup: serverGroupSpecSchema,
  keyPair: keyPairSpecSchema,
  network: networkSpecSchema,
  subnet: subnetSpecSchema,
  securityGroup: securityGroupWithRulesSchema,
  instance: instanceSpecSchema,
};
