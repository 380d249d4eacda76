import type { HostFloatingIp, HostNetwork } from '../../core/host-network.ts';
import { METADATA_ADDRESS } from '../metadata/proxy-headers.ts';
import type { HostCommands } from './exec.ts';
import { settle, type Link } from './links.ts';

/**
 * A network's service namespace on one host: the service port (the network's gateway and DHCP
 * addresses, with the same MAC on every host) on a veth whose other end joins the network's
 * bridge, the metadata address on its loopback, and, when floating IPs of the network's ports are NATed here, one leg per external
 * bridge holding those addresses. A namespace per network keeps two projects' overlapping subnets
 * apart, as Neutron's router and DHCP namespaces do.
 */
export const SERVICE_DEVICE = 'svc0';

export interface ServiceNames {
  namespace: string;
  /** The host end of the service veth (on the network's bridge). */
  serviceVeth: string;
  /** The host end of the i-th external leg. */
  externalVeth(i: number): string;
}

export async function ensureServiceNamespace(
  o: { root: HostCommands; host: HostCommands; links: Map<string, Link>; names: ServiceNames; net: HostNetwork; bridge: string },
): Promise<void> {
  const { root, host, links, names, net } = o;
  const ns = root.inNamespace(names.namespace);
  const present = (await root.json<{ name: string }>(['netns', 'list'])).some((n) => n.name === names.namespace);
  if (!present) {
    await root.run('ip', ['netns', 'add', names.namespace]);
    await ns.run('ip', ['link', 'set', 'lo', 'up']);
  }
  await ns.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  const inside = new Map((await ns.json<Link>(['link', 'show'])).map((l) => [l.ifname, l]));
  let veth = links.get(names.serviceVeth);
  if (!veth || !inside.has(SERVICE_DEVICE)) {
    if (veth) await host.run('ip', ['link', 'del', names.serviceVeth]);
    await host.run('ip', ['link', 'add', names.serviceVeth, 'mtu', String(net.mtu), 'type', 'veth', 'peer', 'name', SERVICE_DEVICE, 'netns', names.namespace]);
    veth = undefined;
    inside.delete(SERVICE_DEVICE);
  }
  await settle(host, veth, names.serviceVeth, { mtu: net.mtu, master: o.bridge });
  const svc = inside.get(SERVICE_DEVICE);
  if (svc?.address !== net.service.mac) await ns.run('ip', ['link', 'set', 'dev', SERVICE_DEVICE, 'address', net.service.mac]);
  await settle(ns, svc, SERVICE_DEVICE, { mtu: net.mtu });
  const prefixOf = new Map(net.subnets.map((s) => [s.id, s.cidr.split('/')[1]!]));
  // DHCP addresses first: the first address of a subnet on a device is its primary, the one
  // dnsmasq answers from (the server identifier the guests see).
  const dhcp = new Set(net.subnets.map((s) => s.dhcpServerIp));
  const addresses = [...net.service.addresses].sort((a, b) => Number(dhcp.has(b.ip)) - Number(dhcp.has(a.ip)));
  await ensureAddresses(ns, SERVICE_DEVICE, addresses.map((a) => `${a.ip}/${prefixOf.get(a.subnetId)}`));
  // Nova's metadata address: guests reach it through their gateway, which is this namespace.
  await ensureAddresses(ns, 'lo', [`${METADATA_ADDRESS}/32`]);
  await ensureFloatingIps(o, ns, inside);
}

/** Exactly these global addresses on a device. */
async function ensureAddresses(ns: HostCommands, device: string, want: string[]): Promise<void> {
  const shown = await ns.json<{ addr_info: { local: string; prefixlen: number; scope: string }[] }>(['addr', 'show', 'dev', device]);
  const have = new Set((shown[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
  for (const a of want.filter((x) => !have.has(x))) await ns.run('ip', ['addr', 'add', a, 'dev', device, ...(a.includes(':') ? ['nodad'] : [])]);
  for (const a of [...have].filter((x) => !want.includes(x))) await ns.run('ip', ['addr', 'del', a, 'dev', device]);
}

async function ensureFloatingIps(
  o: { host: HostCommands; links: Map<string, Link>; names: ServiceNames; net: HostNetwork },
  ns: HostCommands,
  inside: Map<string, Link>,
): Promise<void> {
  const byBridge = new Map<string, HostFloatingIp[]>();
  for (const f of o.net.floatingIps) byBridge.set(f.externalBridge, [...(byBridge.get(f.externalBridge) ?? []), f]);
  const legs = [...byBridge.entries()].sort(([a], [b]) => a.localeCompare(b));
  let i = 0;
  for (; i < legs.length; i++) {
    const [bridge, fips] = legs[i]!;
    const hostEnd = o.names.externalVeth(i);
    const dev = `ext${i}`;
    if (!o.links.has(bridge)) throw new Error(`external bridge ${bridge} does not exist on this host`);
    let veth = o.links.get(hostEnd);
    if (!veth || !inside.has(dev)) {
      if (veth) await o.host.run('ip', ['link', 'del', hostEnd]);
      await o.host.run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', dev, 'netns', o.names.namespace]);
      veth = undefined;
    }
    await settle(o.host, veth, hostEnd, { master: bridge });
    await settle(ns, inside.get(dev), dev, {});
    await ensureAddresses(ns, dev, fips.map((f) => `${f.address}/${f.externalPrefixLength}`));
    const gateway = fips.find((f) => f.externalGateway)?.externalGateway;
    if (gateway && i === 0) await ns.run('ip', ['route', 'replace', 'default', 'via', gateway, 'dev', dev]);
  }
  for (const extra of [...inside.keys()].filter((d) => /^ext\d+$/.test(d) && Number(d.slice(3)) >= i)) {
    await ns.run('ip', ['link', 'del', extra]);
  }
  await applyNat(ns, legs);
}

/**
 * DNAT in, SNAT out, and nothing else across the external legs (a port without a floating IP does
 * not reach the outside through another port's). Connections through an address that is no
 * longer NATed here are forgotten, so a disassociated floating IP stops at once.
 */
async function applyNat(ns: HostCommands, legs: [string, HostFloatingIp[]][]): Promise<void> {
  const nat: string[] = [];
  const filter: string[] = [];
  legs.forEach(([, fips], i) => {
    for (const f of fips) {
      nat.push(`-A PREROUTING -i ext${i} -d ${f.address}/32 -j DNAT --to-destination ${f.fixedIp}`);
      nat.push(`-A POSTROUTING -o ext${i} -s ${f.fixedIp}/32 -j SNAT --to-source ${f.address}`);
      filter.push(`-A FORWARD -i ext${i} -d ${f.fixedIp}/32 -j ACCEPT`, `-A FORWARD -o ext${i} -s ${f.fixedIp}/32 -j ACCEPT`);
    }
  });
  filter.push('-A FORWARD -i ext+ -j DROP', '-A FORWARD -o ext+ -j DROP');
  const before = natted(await ns.run('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING']));
  const text = [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...nat, 'COMMIT',
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...filter, 'COMMIT', '',
  ].join('\n');
  await ns.run('iptables-restore', ['-w'], text);
  const now = new Set(legs.flatMap(([, fips]) => fips.map((f) => f.address)));
  for (const gone of before.filter((a) => !now.has(a))) {
    // Exit status 1 means no entries matched.
    await ns.run('conntrack', ['-D', '-d', gone]).catch(() => {});
  }
}

function natted(rules: string): string[] {
  return [...rules.matchAll(/-d (\S+)\/32 .*-j DNAT/g)].map((m) => m[1]!);
}
