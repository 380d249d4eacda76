import type { HostAddress, HostFloatingIp, HostNetwork, HostPort, HostRule, HostSubnet, NetworkSegment } from '../../core/host-network.ts';
import { builder } from '../builder.ts';
import { HostRoute } from './network.ts';

// Field for field the interfaces of core/host-network.ts, which the agent's plumbing takes as they come.

const AgentNetworkSegment = builder.objectRef<NetworkSegment>('AgentNetworkSegment').implement({
  description: 'vxlan: bridge obr-<vni> and VXLAN device ovx-<vni>; bridge: an existing host bridge, no tunnel',
  fields: (t) => ({
    kind: t.string({ resolve: (s) => s.kind }),
    vni: t.int({ nullable: true, resolve: (s) => (s.kind === 'vxlan' ? s.vni : null) }),
    bridge: t.string({ nullable: true, resolve: (s) => (s.kind === 'bridge' ? s.bridge : null) }),
  }),
});

const AgentAddress = builder.objectRef<HostAddress>('AgentAddress').implement({
  fields: (t) => ({ subnetId: t.exposeID('subnetId'), ip: t.exposeString('ip') }),
});

const AgentSubnet = builder.objectRef<HostSubnet>('AgentSubnet').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    cidr: t.exposeString('cidr'),
    ipVersion: t.exposeInt('ipVersion'),
    gatewayIp: t.exposeString('gatewayIp', { nullable: true }),
    dhcpServerIp: t.exposeString('dhcpServerIp', { nullable: true, description: "The DHCP server's own address (null: DHCP off)" }),
    dnsServers: t.exposeStringList('dnsServers'),
    hostRoutes: t.field({ type: [HostRoute], resolve: (s) => s.hostRoutes }),
  }),
});

const AgentServicePort = builder.objectRef<HostNetwork['service']>('AgentServicePort').implement({
  description: "The network's DHCP server and gateway: the same MAC and addresses on every host, answered locally",
  fields: (t) => ({ mac: t.exposeString('mac'), addresses: t.field({ type: [AgentAddress], resolve: (s) => s.addresses }) }),
});

const AgentRule = builder.objectRef<HostRule>('AgentRule').implement({
  fields: (t) => ({
    direction: t.exposeString('direction'),
    ethertype: t.exposeString('ethertype'),
    protocol: t.exposeString('protocol', { nullable: true }),
    portMin: t.exposeInt('portMin', { nullable: true }),
    portMax: t.exposeInt('portMax', { nullable: true }),
    remoteCidrs: t.exposeStringList('remoteCidrs', { nullable: true, description: 'null: anywhere; remote groups resolved to their members' }),
  }),
});

const AgentPort = builder.objectRef<HostPort>('AgentPort').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    deviceIndex: t.exposeInt('deviceIndex'),
    mac: t.exposeString('mac'),
    tap: t.exposeString('tap'),
    fixedIps: t.field({ type: [AgentAddress], resolve: (p) => p.fixedIps }),
    portSecurity: t.exposeBoolean('portSecurity'),
    rules: t.field({ type: [AgentRule], resolve: (p) => p.rules }),
  }),
});

const AgentFloatingIp = builder.objectRef<HostFloatingIp>('AgentFloatingIp').implement({
  fields: (t) => ({
    address: t.exposeString('address'),
    fixedIp: t.exposeString('fixedIp'),
    externalBridge: t.exposeString('externalBridge'),
    externalPrefixLength: t.exposeInt('externalPrefixLength'),
    externalGateway: t.exposeString('externalGateway', { nullable: true }),
  }),
});

export const AgentNetwork = builder.objectRef<HostNetwork>('AgentNetwork').implement({
  description: 'A network this host carries: present while a port of it belongs to an instance bound here (or arriving)',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    segment: t.field({ type: AgentNetworkSegment, resolve: (n) => n.segment }),
    mtu: t.exposeInt('mtu'),
    peers: t.exposeStringList('peers', { description: 'Tunnel addresses of the other hosts carrying it' }),
    subnets: t.field({ type: [AgentSubnet], resolve: (n) => n.subnets }),
    service: t.field({ type: AgentServicePort, resolve: (n) => n.service }),
    ports: t.field({ type: [AgentPort], resolve: (n) => n.ports }),
    floatingIps: t.field({ type: [AgentFloatingIp], resolve: (n) => n.floatingIps }),
  }),
});
