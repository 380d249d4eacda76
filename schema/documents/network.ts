import type { FromSchema } from 'json-schema-to-ts';
import { name, reference, uuid } from './common.ts';

/** Addresses and CIDRs are checked as strings here and as addresses by core/ip.ts (which names what is wrong). */
const address = { type: 'string', minLength: 2, maxLength: 45 } as const;
const cidr = { type: 'string', minLength: 4, maxLength: 49 } as const;

export const networkSpecSchema = {
  $id: 'orrery/network',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name,
    shared: { type: 'boolean' },
    external: { type: 'boolean' },
    mtu: { type: 'integer', minimum: 576, maximum: 9216 },
    /** An existing bridge on every host (admins); without it the network is a VXLAN overlay. */
    providerBridge: { type: 'string', minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.-]+$' },
  },
} as const;
export type NetworkSpec = FromSchema<typeof networkSpecSchema>;

/** Neutron's defaults: VXLAN's 50 bytes of encapsulation come off a 1500-byte underlay. */
export const DEFAULT_MTU = { vxlan: 1450, bridge: 1500 } as const;

export const subnetSpecSchema = {
  $id: 'orrery/subnet',
  type: 'object',
  additionalProperties: false,
  required: ['network', 'cidr'],
  properties: {
    network: reference,
    name,
    cidr,
    /** Default: the first address of the cidr. */
    gatewayIp: address,
    noGateway: { type: 'boolean' },
    dnsServers: { type: 'array', maxItems: 5, items: address },
    hostRoutes: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['destination', 'nexthop'],
        properties: { destination: cidr, nexthop: address },
      },
    },
    dhcpEnabled: { type: 'boolean' },
    allocationPools: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['first', 'last'],
        properties: { first: address, last: address },
      },
    },
  },
} as const;
export type SubnetSpec = FromSchema<typeof subnetSpecSchema>;

const securityGroupRefs = { type: 'array', maxItems: 16, uniqueItems: true, items: reference } as const;

export const portSpecSchema = {
  $id: 'orrery/port',
  type: 'object',
  additionalProperties: false,
  required: ['network'],
  properties: {
    network: reference,
    name,
    fixedIps: {
      type: 'array',
      maxItems: 8,
      items: { type: 'object', additionalProperties: false, required: ['ip'], properties: { ip: address } },
    },
    /** Default: the project's default group. */
    securityGroups: securityGroupRefs,
    portSecurity: { type: 'boolean' },
  },
} as const;
export type PortSpec = FromSchema<typeof portSpecSchema>;

export const portPatchSchema = {
  $id: 'orrery/port-patch',
  type: 'object',
  additionalProperties: false,
  properties: { name, securityGroups: securityGroupRefs, portSecurity: { type: 'boolean' } },
} as const;
export type PortPatch = FromSchema<typeof portPatchSchema>;

/** The most NICs an instance has, at creation or by attaching more. */
export const MAX_INSTANCE_NICS = 16;

/** One NIC of an instance: a new port on a network (optionally at a fixed address), or an existing port. */
export const instanceNicSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { network: reference, fixedIp: address, port: uuid },
} as const;
export type InstanceNic = FromSchema<typeof instanceNicSchema>;

/** attachInterface's input: one NIC, as createInstance takes each. */
export const interfaceAttachSchema = { $id: 'orrery/interface-attach', ...instanceNicSchema } as const;

export const securityGroupSpecSchema = {
  $id: 'orrery/security-group',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name, description: { type: 'string', maxLength: 255 } },
} as const;
export type SecurityGroupSpec = FromSchema<typeof securityGroupSpecSchema>;

/** A rule's own fields; the API's input adds the group it goes in. */
const ruleFields = {
  direction: { enum: ['ingress', 'egress'] },
  ethertype: { enum: ['IPv4', 'IPv6'] },
  /** tcp, udp, icmp, icmpv6 or an IP protocol number. */
  protocol: { type: 'string', pattern: '^(tcp|udp|icmp|icmpv6|[0-9]{1,3})$' },
  portMin: { type: 'integer', minimum: 0, maximum: 65535 },
  portMax: { type: 'integer', minimum: 0, maximum: 65535 },
  remoteCidr: cidr,
  remoteGroup: reference,
} as const;

export const securityGroupRuleSpecSchema = {
  $id: 'orrery/security-group-rule',
  type: 'object',
  additionalProperties: false,
  required: ['securityGroup', 'direction'],
  properties: { securityGroup: reference, ...ruleFields },
} as const;
export type SecurityGroupRuleSpec = FromSchema<typeof securityGroupRuleSpecSchema>;

/**
 * A group with its whole rule set, as a desired-state file declares it (the API takes the rules one
 * by one). At most Neutron's default quota of rules per group.
 */
export const securityGroupWithRulesSchema = {
  $id: 'orrery/security-group-with-rules',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    ...securityGroupSpecSchema.properties,
    rules: {
      type: 'array',
      maxItems: 100,
      items: { type: 'object', additionalProperties: false, required: ['direction'], properties: ruleFields },
    },
  },
} as const;
export type SecurityGroupWithRules = FromSchema<typeof securityGroupWithRulesSchema>;
