import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostNetwork } from '../../core/host-network.ts';
import { formatIp, parseCidr, type Cidr } from '../../core/ip.ts';
import type { HostCommands } from './exec.ts';

/**
 * One dnsmasq per network on each host, inside the network's service namespace, answering only
 * the ports of this host with exactly their fixed addresses (`static` ranges: nobody else gets a
 * lease). IPv4 only for now: IPv6 subnets get no DHCPv6 or router advertisements.
 */
export function dnsmasqFiles(net: HostNetwork, dir: string, device: string): { conf: string; hosts: string } | null {
  const subnets = net.subnets.filter((s) => s.ipVersion === 4 && s.dhcpServerIp);
  if (subnets.length === 0) return null;
  const conf = [
    'no-resolv', 'no-hosts', 'port=0', `interface=${device}`, 'bind-interfaces', 'dhcp-authoritative', 'user=root',
    `dhcp-hostsfile=${path.join(dir, 'hosts')}`, `dhcp-leasefile=${path.join(dir, 'leases')}`, `pid-file=${path.join(dir, 'pid')}`,
  ];
  subnets.forEach((s, i) => {
    const c = parseCidr(s.cidr) as Cidr;
    const tag = `tag:s${i}`;
    conf.push(`dhcp-range=set:s${i},${formatIp({ version: 4, value: c.network })},static,${netmask(c.prefix)},1h`);
    // An empty option withholds it: dnsmasq would otherwise offer itself as router and DNS.
    conf.push(`dhcp-option=${tag},option:router${s.gatewayIp ? `,${s.gatewayIp}` : ''}`);
    conf.push(`dhcp-option=${tag},option:dns-server${s.dnsServers.length ? `,${s.dnsServers.join(',')}` : ''}`);
    conf.push(`dhcp-option=${tag},option:mtu,${net.mtu}`);
    if (s.hostRoutes.length) {
      // Clients that take classless routes ignore the router option, so the default route goes in too.
      const routes = [...s.hostRoutes.map((r) => `${r.destination},${r.nexthop}`), ...(s.gatewayIp ? [`0.0.0.0/0,${s.gatewayIp}`] : [])];
      conf.push(`dhcp-option=${tag},option:classless-static-route,${routes.join(',')}`);
    }
  });
  const dhcpSubnets = new Set(subnets.map((s) => s.id));
  const hosts = net.ports.flatMap((p) => {
    const ip = p.fixedIps.find((a) => dhcpSubnets.has(a.subnetId));
    return ip ? [`${p.mac},${ip.ip}`] : [];
  });
  return { conf: conf.join('\n') + '\n', hosts: hosts.join('\n') + '\n' };
}

function netmask(prefix: number): string {
  return formatIp({ version: 4, value: (0xffffffffn << BigInt(32 - prefix)) & 0xffffffffn });
}

/**
 * Runs dnsmasq on exactly these files: started when not running (drift: killed behind our back),
 * restarted when a file changed (a fresh lease file, so a reused address is never held for a port
 * that is gone).
 */
export async function ensureDnsmasq(ns: HostCommands, dir: string, files: { conf: string; hosts: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const confPath = path.join(dir, 'dnsmasq.conf');
  const same = (await readText(confPath)) === files.conf && (await readText(path.join(dir, 'hosts'))) === files.hosts;
  const pid = await dnsmasqPid(dir);
  if (same && pid !== null) return;
  await stopDnsmasq(dir);
  await writeFile(path.join(dir, 'hosts'), files.hosts);
  await writeFile(confPath, files.conf);
  await rm(path.join(dir, 'leases'), { force: true });
  await ns.run('dnsmasq', [`--conf-file=${confPath}`]);
}

/** The running dnsmasq of this folder, or null (its pid file may name a process long gone). */
export async function dnsmasqPid(dir: string): Promise<number | null> {
  const pid = Number((await readText(path.join(dir, 'pid'))).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const cmdline = await readText(`/proc/${pid}/cmdline`);
  return cmdline.includes(path.join(dir, 'dnsmasq.conf')) ? pid : null;
}

export async function stopDnsmasq(dir: string): Promise<void> {
  const pid = await dnsmasqPid(dir);
  if (pid === null) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && (await dnsmasqPid(dir)) !== null; i++) await new Promise((r) => setTimeout(r, 20));
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}
