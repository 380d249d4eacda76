import { bridgeName, type HostNetwork, type HostPort, type HostRule } from '../../core/host-network.ts';

/**
 * The host's packet filters for its networks, as two texts applied whole (each atomically):
 *
 * - nftables, bridge family, table `bridge orrery`: what is decided per frame without state —
 *   anti-spoofing (a port sends only from its MAC and its addresses, ARP included; DHCP discovery
 *   from 0.0.0.0 allowed) and tunnel hygiene (the service port's frames never cross the VXLAN
 *   device, since every host answers for the same MAC and addresses).
 * - iptables, through br_netfilter (`nf_call_iptables` on each bridge), for the security groups:
 *   they are stateful, and this kernel has no conntrack in the bridge family (nf_conntrack_bridge),
 *   so they run in the IPv4 forward hook where conntrack works, matching the tap with `physdev`.
 *   Each network's bridge gets its own conntrack zone, so overlapping addresses of two projects'
 *   networks never share a connection entry.
 *
 * IPv6 is not filtered by security groups yet, so a port with port security sends and receives
 * only IPv4 and ARP.
 */

export const FORWARD_CHAIN = 'ORR-FWD';
export const ZONE_CHAIN = 'ORR-ZONE';
const NETWORKS = 'ORR-NET';
const EGRESS = 'ORR-EGRESS';
const INGRESS = 'ORR-INGRESS';

export function vxlanName(vni: number): string {
  return `ovx-${vni}`;
}

export function nftRuleset(networks: HostNetwork[]): string {
  const rules: string[] = [];
  for (const net of networks) {
    if (net.segment.kind === 'vxlan') {
      const vx = vxlanName(net.segment.vni);
      rules.push(`oifname "${vx}" ether saddr ${net.service.mac} drop`, `iifname "${vx}" ether saddr ${net.service.mac} drop`);
    }
    for (const port of net.ports.filter((p) => p.portSecurity)) rules.push(...antiSpoofing(port));
  }
  const table = rules.length
    ? `table bridge orrery {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`
    : '';
  // Declaring then deleting first makes the replacement one transaction whether or not it existed.
  return `table bridge orrery\ndelete table bridge orrery\n${table}`;
}

function antiSpoofing(port: HostPort): string[] {
  const dev = `iifname "${port.tap}"`;
  const v4 = port.fixedIps.map((a) => a.ip).filter((ip) => !ip.includes(':'));
  const rules = [`${dev} ether saddr != ${port.mac} drop`, `${dev} ether type arp arp saddr ether != ${port.mac} drop`];
  if (v4.length === 0) return [...rules, `${dev} drop`];
  return [
    ...rules,
    `${dev} ether type arp arp saddr ip != { ${[...v4, '0.0.0.0'].join(', ')} } drop`,
    `${dev} ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept`,
    `${dev} ether type ip ip saddr != { ${v4.join(', ')} } drop`,
    `${dev} ether type != { ip, arp } drop`,
  ];
}

/** Conntrack zones 1…65535, one per network and the same on every host. */
export function zoneOf(net: HostNetwork): number {
  const key = net.segment.kind === 'vxlan' ? net.segment.vni : [...net.id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return (key % 65535) + 1;
}

/** `iptables-restore --noflush` input: declaring a chain empties it, so the text is the whole truth. */
export function iptablesRules(networks: HostNetwork[]): string {
  const raw = networks.map((n) => `-A ${ZONE_CHAIN} -i ${bridgeName(n.segment)} -j CT --zone ${zoneOf(n)}`);
  const egress: string[] = [];
  const ingress: string[] = [];
  for (const net of networks) {
    for (const port of net.ports.filter((p) => p.portSecurity)) {
      // dnsmasq answers from the service port's primary address in the subnet, whichever that is.
      const dhcpServers = net.service.addresses.map((a) => a.ip).filter((ip) => !ip.includes(':'));
      const out = `-A ${EGRESS} -m physdev --physdev-in ${port.tap}`;
      const into = `-A ${INGRESS} -m physdev --physdev-out ${port.tap}`;
      egress.push(`${out} -p udp --sport 68 --dport 67 -j RETURN`);
      for (const server of dhcpServers) ingress.push(`${into} -s ${server}/32 -p udp --sport 67 --dport 68 -j RETURN`);
      for (const rule of port.rules.filter((r) => r.ethertype === 'IPv4')) {
        const lines = rule.direction === 'egress' ? egress : ingress;
        const head = rule.direction === 'egress' ? out : into;
        const flag = rule.direction === 'egress' ? '-d' : '-s';
        for (const remote of remotes(rule)) lines.push(`${head}${remote === null ? '' : ` ${flag} ${remote}`}${match(rule)} -j RETURN`);
      }
      egress.push(`${out} -j DROP`);
      ingress.push(`${into} -j DROP`);
    }
  }
  // Only our bridges' frames are decided here; any other bridge's go on through the host's rules.
  const filter = [
    ...networks.map((n) => `-A ${FORWARD_CHAIN} -i ${bridgeName(n.segment)} -j ${NETWORKS}`),
    `-A ${NETWORKS} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${NETWORKS} -j ${EGRESS}`,
    `-A ${NETWORKS} -j ${INGRESS}`,
    `-A ${NETWORKS} -j ACCEPT`,
    ...egress,
    ...ingress,
  ];
  return [
    '*raw', `:${ZONE_CHAIN} - [0:0]`, ...raw, 'COMMIT',
    '*filter', `:${FORWARD_CHAIN} - [0:0]`, `:${NETWORKS} - [0:0]`, `:${EGRESS} - [0:0]`, `:${INGRESS} - [0:0]`, ...filter, 'COMMIT', '',
  ].join('\n');
}

/** null: anywhere. A remote group without members allows nothing. */
function remotes(rule: HostRule): (string | null)[] {
  if (rule.remoteCidrs === null) return [null];
  return rule.remoteCidrs.filter((c) => !c.includes(':'));
}

function match(rule: HostRule): string {
  const p = rule.protocol;
  if (p === null) return '';
  if (p === 'icmp') {
    if (rule.portMin === null) return ' -p icmp';
    return ` -p icmp --icmp-type ${rule.portMin}${rule.portMax === null ? '' : `/${rule.portMax}`}`;
  }
  if ((p === 'tcp' || p === 'udp') && rule.portMin !== null) {
    return ` -p ${p} --dport ${rule.portMin}${rule.portMax !== null && rule.portMax !== rule.portMin ? `:${rule.portMax}` : ''}`;
  }
  return ` -p ${p}`;
}
