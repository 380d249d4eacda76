/**
 * What one host's network plumbing must be, as the control plane hands it to that host's agent
 * (`agentAssignments.networks`) and as the agent's network converge loop takes it. One definition
 * for both sides: the store builds it, GraphQL carries it field for field, the agent applies it.
 *
 * A network is present on a host while a port of it belongs to an instance bound to that host (or
 * arriving there by live migration). Everything about other hosts is reduced to what this host
 * needs: its peers' tunnel addresses, and the addresses of remote security-group members.
 */

export interface HostNetworkView {
  networks: HostNetwork[];
}

export type NetworkSegment =
  /** Orrery's overlay: bridge `obr-<vni>` and VXLAN device `ovx-<vni>` on every host carrying it. */
  | { kind: 'vxlan'; vni: number }
  /** An admin's provider network: an existing host bridge the ports' taps join; no tunnel. */
  | { kind: 'bridge'; bridge: string };

export interface HostNetwork {
  id: string;
  name: string;
  segment: NetworkSegment;
  mtu: number;
  /** Tunnel addresses of the other hosts carrying this network (head-end replication; vxlan only). */
  peers: string[];
  subnets: HostSubnet[];
  /**
   * The network's service port: the same MAC and addresses on every host (one DHCP server address
   * per subnet with DHCP on, and each subnet's gateway), answered locally and never sent across the
   * tunnel, so every host serves its own guests (a distributed DHCP server and router).
   */
  service: { mac: string; addresses: HostAddress[] };
  /** Ports of this network on this host. */
  ports: HostPort[];
  /** Floating IPs NATed here for this network's ports (empty: none on this host). */
  floatingIps: HostFloatingIp[];
}

export interface HostSubnet {
  id: string;
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
  /** The DHCP server's own address in this subnet (null: DHCP off). */
  dhcpServerIp: string | null;
  dnsServers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
}

export interface HostAddress {
  subnetId: string;
  ip: string;
}

export interface HostPort {
  id: string;
  instanceId: string;
  /** Its place among the instance's NICs: the domain lists them in this order (0: eth0). */
  deviceIndex: number;
  mac: string;
  /** The tap device libvirt creates for it: `tap` + the first 11 characters of the port id. */
  tap: string;
  fixedIps: HostAddress[];
  /** False: no anti-spoofing and no security groups (Neutron's port_security_enabled). */
  portSecurity: boolean;
  /** Every rule of every security group of the port, remote groups resolved to addresses. */
  rules: HostRule[];
}

export interface HostRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** tcp, udp, icmp, icmpv6, or an IP protocol number as a string; null: any. */
  protocol: string | null;
  /** tcp/udp: port range; icmp: type (portMin) and code (portMax). Null: any. */
  portMin: number | null;
  portMax: number | null;
  /** Where the traffic comes from (ingress) or goes to (egress); null: anywhere. */
  remoteCidrs: string[] | null;
}

export interface HostFloatingIp {
  address: string;
  fixedIp: string;
  /** The external network's bridge on this host, its prefix length and gateway. */
  externalBridge: string;
  externalPrefixLength: number;
  externalGateway: string | null;
}

/** Every port's MAC starts so (OpenStack's fa:16:3e, locally administered); a NIC without it is not a port's. */
export const PORT_MAC_PREFIX = 'fa:16:3e';

export function isPortMac(mac: string): boolean {
  return mac.toLowerCase().startsWith(`${PORT_MAC_PREFIX}:`);
}

/** libvirt's and the plumbing's name for a port's tap device (at most 15 characters). */
export function tapName(portId: string): string {
  return `tap${portId.slice(0, 11)}`;
}

/** The bridge a network's taps join on every host. */
export function bridgeName(segment: NetworkSegment): string {
  return segment.kind === 'vxlan' ? `obr-${segment.vni}` : segment.bridge;
}
