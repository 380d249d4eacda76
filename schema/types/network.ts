import { poolsOf, subnetsOf, type NetworkRow, type SubnetRow } from '../../store/networks.ts';
import type { PortView } from '../../store/ports.ts';
import { builder } from '../builder.ts';

export const NetworkSegment = builder.objectRef<{ kind: 'vxlan' | 'bridge'; vni: number | null; bridge: string | null }>('NetworkSegment').implement({
  description: "vxlan: Orrery's overlay with its VNI; bridge: an admin's provider bridge on every host",
  fields: (t) => ({
    kind: t.exposeString('kind'),
    vni: t.exposeInt('vni', { nullable: true }),
    bridge: t.exposeString('bridge', { nullable: true }),
  }),
});

const Pool = builder.objectRef<{ first: string; last: string }>('AllocationPool').implement({
  fields: (t) => ({ first: t.exposeString('first'), last: t.exposeString('last') }),
});

export const HostRoute = builder.objectRef<{ destination: string; nexthop: string }>('HostRoute').implement({
  fields: (t) => ({ destination: t.exposeString('destination'), nexthop: t.exposeString('nexthop') }),
});

export const Subnet = builder.objectRef<SubnetRow>('Subnet').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    networkId: t.exposeID('network_id'),
    name: t.exposeString('name'),
    ipVersion: t.exposeInt('ip_version'),
    cidr: t.exposeString('cidr'),
    gatewayIp: t.exposeString('gateway_ip', { nullable: true }),
    dnsServers: t.exposeStringList('dns_servers'),
    hostRoutes: t.field({ type: [HostRoute], resolve: (s) => s.host_routes }),
    dhcpEnabled: t.exposeBoolean('dhcp_enabled'),
    allocationPools: t.field({ type: [Pool], resolve: (s, _a, ctx) => poolsOf(ctx.sql, s.id) }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

export const Network = builder.objectRef<NetworkRow>('Network').implement({
  description: "A layer-2 network: your project's, or shared with every project; external ones give floating IPs.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    projectId: t.exposeID('project_id'),
    shared: t.exposeBoolean('shared'),
    external: t.exposeBoolean('external'),
    mtu: t.exposeInt('mtu'),
    segment: t.field({
      type: NetworkSegment,
      resolve: (n) => ({ kind: n.segment_type, vni: n.vni, bridge: n.provider_bridge }),
    }),
    subnets: t.field({ type: [Subnet], resolve: (n, _a, ctx) => subnetsOf(ctx.sql, n.id) }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

const FixedIp = builder.objectRef<{ subnetId: string; ip: string }>('FixedIp').implement({
  fields: (t) => ({ subnetId: t.exposeID('subnetId'), ip: t.exposeString('ip') }),
});

export const Port = builder.objectRef<PortView>('Port').implement({
  description: 'A NIC on a network: its MAC, addresses and security groups; an instance keeps it through moves.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    networkId: t.exposeID('network_id'),
    networkName: t.exposeString('network_name'),
    projectId: t.exposeID('project_id'),
    macAddress: t.exposeString('mac'),
    instanceId: t.exposeID('instance_id', { nullable: true }),
    deviceIndex: t.exposeInt('device_index', { nullable: true, description: "Its place among the instance's NICs: 0 is the guest's first NIC (eth0), an attached one comes last" }),
    deviceOwner: t.exposeString('device_owner', { description: 'compute, or network:service for the DHCP/gateway port' }),
    portSecurity: t.exposeBoolean('port_security'),
    createdByInstance: t.exposeBoolean('created_by_instance', { description: 'Deleted with its instance (else only detached)' }),
    status: t.exposeString('status'),
    fixedIps: t.field({ type: [FixedIp], resolve: (p) => p.fixed_ips }),
    securityGroupIds: t.exposeIDList('security_group_ids'),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

export const NetworkInput = builder.inputType('NetworkInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    shared: t.boolean({ description: 'Every project may attach ports (admins)' }),
    external: t.boolean({ description: 'Floating IPs come from it (admins)' }),
    mtu: t.int({ description: 'Default 1450 on VXLAN, 1500 on a provider bridge' }),
    providerBridge: t.string({ description: 'An existing bridge on every host instead of a VXLAN overlay (admins)' }),
  }),
});

const PoolInput = builder.inputType('AllocationPoolInput', {
  fields: (t) => ({ first: t.string({ required: true }), last: t.string({ required: true }) }),
});

const HostRouteInput = builder.inputType('HostRouteInput', {
  fields: (t) => ({ destination: t.string({ required: true }), nexthop: t.string({ required: true }) }),
});

export const SubnetInput = builder.inputType('SubnetInput', {
  fields: (t) => ({
    network: t.string({ required: true, description: 'Network name or ID (your project)' }),
    name: t.string(),
    cidr: t.string({ required: true, description: 'e.g. 10.0.0.0/24 or fd00::/64 (the IP version follows)' }),
    gatewayIp: t.string({ description: 'Default: the first address of the cidr' }),
    noGateway: t.boolean({ description: 'No gateway at all' }),
    dnsServers: t.stringList(),
    hostRoutes: t.field({ type: [HostRouteInput] }),
    dhcpEnabled: t.boolean({ description: 'Default true' }),
    allocationPools: t.field({ type: [PoolInput], description: 'Default: the whole cidr but its network, broadcast and gateway addresses' }),
  }),
});

const FixedIpInput = builder.inputType('FixedIpInput', { fields: (t) => ({ ip: t.string({ required: true }) }) });

export const PortInput = builder.inputType('PortInput', {
  fields: (t) => ({
    network: t.string({ required: true, description: 'Network name or ID (yours or shared)' }),
    name: t.string(),
    fixedIps: t.field({ type: [FixedIpInput], description: 'Default: one address per IP version' }),
    securityGroups: t.stringList({ description: 'Names or IDs; default: your project\'s default group' }),
    portSecurity: t.boolean({ description: 'Default true; false: no anti-spoofing and no security groups' }),
  }),
});

export const PortPatchInput = builder.inputType('PortPatchInput', {
  fields: (t) => ({
    name: t.string(),
    securityGroups: t.stringList({ description: 'Replaces the whole set' }),
    portSecurity: t.boolean(),
  }),
});

export const PortFilterInput = builder.inputType('PortFilter', {
  fields: (t) => ({ network: t.string({ description: 'Network name or ID' }), instance: t.id() }),
});

export const InstanceNicInput = builder.inputType('InstanceNicInput', {
  description: 'A new port on `network` (at `fixedIp` if given), or your existing unattached `port`.',
  fields: (t) => ({ network: t.string(), fixedIp: t.string(), port: t.id() }),
});
