import { formatIp, parseCidr } from '../ip.ts';
import type { MetadataNic, MetadataSource, MetadataSubnet } from './source.ts';

/** network_data.json as Nova writes it (nova/virt/netutils.py), which cloud-init turns into the guest's network config. */
export type NetworkData = Record<string, never> | { links: Link[]; networks: Network[]; services: DnsService[] };

interface Link {
  id: string;
  vif_id: string;
  type: 'bridge';
  mtu: number;
  ethernet_mac_address: string;
}

/** A DHCP network says only that DHCP configures it; a static one carries the address and routes. */
type Network =
  | { id: string; type: 'ipv4_dhcp' | 'ipv6_dhcp'; link: string; network_id: string }
  | {
      id: string;
      type: 'ipv4' | 'ipv6';
      link: string;
      ip_address: string;
      netmask: string;
      routes: Route[];
      network_id: string;
      services: DnsService[];
    };

interface Route {
  network: string;
  netmask: string;
  gateway: string;
}

interface DnsService {
  type: 'dns';
  address: string;
}

/**
 * The document for the guest's NICs, in device order. A NIC with no fixed IP has no link (Nova
 * skips a VIF without subnets); as in Nova, only a NIC's first IPv4 and first IPv6 address are
 * described, each as one network, and the top-level services are every subnet's DNS servers once.
 * An instance with no NICs gets `{}`, as Nova writes for an empty network_info.
 */
export function networkData(src: MetadataSource): NetworkData {
  if (src.nics.length === 0) return {};
  const links: Link[] = [];
  const networks: Network[] = [];
  const services: DnsService[] = [];
  for (const nic of src.nics) {
    const firsts = [4, 6].flatMap((v) => nic.fixedIps.find((f) => f.subnet.ipVersion === v) ?? []);
    if (firsts.length === 0) continue;
    links.push(link(nic));
    for (const { ip, subnet } of firsts) {
      networks.push(network(`network${networks.length}`, nic, ip, subnet));
      for (const dns of dnsServices(subnet)) {
        if (!services.some((s) => s.address === dns.address)) services.push(dns);
      }
    }
  }
  return { links, networks, services };
}

/**
 * Our NICs are taps on a Linux bridge: Nova's 'bridge' VIF type, which it passes through to the
 * guest. The MTU is always given: Nova leaves it null only when a Neutron DHCP port will hand it
 * out, and a guest configured statically needs it here.
 */
function link(nic: MetadataNic): Link {
  return { id: nic.tap, vif_id: nic.portId, type: 'bridge', mtu: nic.mtu, ethernet_mac_address: nic.mac };
}

function network(id: string, nic: MetadataNic, ip: string, subnet: MetadataSubnet): Network {
  const v = subnet.ipVersion;
  if (subnet.dhcpEnabled) return { id, type: `ipv${v}_dhcp`, link: nic.tap, network_id: nic.networkId };
  const cidr = cidrOf(subnet.cidr);
  const any = v === 4 ? '0.0.0.0' : '::';
  const defaultRoute = subnet.gatewayIp ? [{ network: any, netmask: any, gateway: subnet.gatewayIp }] : [];
  const hostRoutes = subnet.hostRoutes.map((r) => {
    const dest = cidrOf(r.destination);
    return { network: formatIp({ version: dest.version, value: dest.network }), netmask: netmask(dest.version, dest.prefix), gateway: r.nexthop };
  });
  return {
    id,
    type: `ipv${v}`,
    link: nic.tap,
    ip_address: ip,
    netmask: netmask(v, cidr.prefix),
    routes: [...defaultRoute, ...hostRoutes],
    network_id: nic.networkId,
    services: dnsServices(subnet),
  };
}

function dnsServices(subnet: MetadataSubnet): DnsService[] {
  return subnet.dnsServers.map((address) => ({ type: 'dns', address }));
}

/** The source's CIDRs come from the database's cidr columns; one that does not parse is a bug upstream. */
function cidrOf(text: string) {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(`metadata source has a bad CIDR ${text}: ${c}`);
  return c;
}

/** A prefix as an address-shaped mask (255.255.255.0, ffff:ffff:ffff:ffff::), as netaddr prints it. */
function netmask(version: 4 | 6, prefix: number): string {
  const bits = version === 4 ? 32 : 128;
  const value = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return formatIp({ version, value });
}
