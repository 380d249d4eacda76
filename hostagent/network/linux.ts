import path from 'node:path';
import { bridgeName, type HostNetwork } from '../../core/host-network.ts';
import type { Log } from '../../core/log.ts';
import { dnsmasqFiles, ensureDnsmasq, stopDnsmasq } from './dhcp.ts';
import { HostCommands } from './exec.ts';
import { FORWARD_CHAIN, iptablesRules, nftRuleset, vxlanName, ZONE_CHAIN } from './filters.ts';
import { ensureBridge, ensureVxlan, readLinks, settle, type Link } from './links.ts';
import { ensureMetadataProxy, stopMetadataProxy } from '../metadata/proxy-process.ts';
import { ensureServiceNamespace, SERVICE_DEVICE, type ServiceNames } from './service-namespace.ts';
import type { NetworkPlumbing } from './sync.ts';

export interface LinuxPlumbingOptions {
  /** The network namespace the host's qemu and taps live in; unset on a real host. */
  netns?: string;
  /** This host's VXLAN endpoint address (required once a VXLAN network is present). */
  tunnelAddress: string | null;
  /** This host's service namespaces are `<prefix><network key>`; unique per host on one machine. */
  namespacePrefix: string;
  /** dnsmasq's files, one folder per service namespace. */
  stateDir: string;
  /** The agent's metadata service: each service namespace proxies 169.254.169.254 to it. */
  metadataSocket: string;
  log: Log;
}

/** Devices carrying these prefixes are Orrery's: removed when no network of the view needs them. */
const OURS = /^(obr|ovx|osv|ofx\d)-/;

/**
 * Linux bridges, VXLAN, a service namespace with dnsmasq per network, and the packet filters,
 * converged on a view like domains are: read what is there, change only what differs, remove what
 * carries Orrery's names and no network needs. A network that fails to converge (a provider bridge
 * missing, say) leaves its ports not ready and the others untouched.
 */
export class LinuxPlumbing implements NetworkPlumbing {
  private readonly host: HostCommands;
  private readonly root = new HostCommands();

  constructor(private readonly o: LinuxPlumbingOptions) {
    this.host = new HostCommands(o.netns);
  }

  async converge(view: { networks: HostNetwork[] }): Promise<{ ready: Set<string> }> {
    const links = await readLinks(this.host);
    const wantedLinks = new Set<string>();
    const wantedNamespaces = new Set<string>();
    const ready = new Set<string>();
    for (const net of view.networks) {
      const names = this.names(net);
      wantedNamespaces.add(names.namespace);
      wantedLinks.add(bridgeName(net.segment)).add(names.serviceVeth);
      if (net.segment.kind === 'vxlan') wantedLinks.add(vxlanName(net.segment.vni));
      [...new Set(net.floatingIps.map((f) => f.externalBridge))].forEach((_, i) => wantedLinks.add(names.externalVeth(i)));
      try {
        await this.network(net, names, links);
        for (const p of net.ports) ready.add(p.id);
      } catch (e) {
        this.o.log.warn({ network: net.id, err: (e as Error).message }, 'network plumbing not converged');
      }
    }
    await this.filters(view.networks);
    await this.removeStale(links, wantedLinks, wantedNamespaces);
    return { ready };
  }

  private names(net: HostNetwork): ServiceNames {
    const key = net.segment.kind === 'vxlan' ? String(net.segment.vni) : `p${net.id.replaceAll('-', '').slice(0, 7)}`;
    return {
      namespace: `${this.o.namespacePrefix}${key}`,
      serviceVeth: `osv-${key}`,
      externalVeth: (i) => `ofx${i}-${key}`,
    };
  }

  private async network(net: HostNetwork, names: ServiceNames, links: Map<string, Link>): Promise<void> {
    const bridge = bridgeName(net.segment);
    await ensureBridge(this.host, links, bridge, net.mtu, net.segment.kind === 'vxlan');
    if (net.segment.kind === 'vxlan') {
      if (!this.o.tunnelAddress) throw new Error('VXLAN network on a host without a tunnel address (start the agent with --tunnel-address)');
      await ensureVxlan(this.host, links, { name: vxlanName(net.segment.vni), vni: net.segment.vni, local: this.o.tunnelAddress, mtu: net.mtu, bridge, peers: net.peers });
    }
    // libvirt attaches a tap when the guest starts; one detached behind our back goes back.
    for (const port of net.ports) {
      const tap = links.get(port.tap);
      if (tap) await settle(this.host, tap, port.tap, { master: bridge });
    }
    await ensureServiceNamespace({ root: this.root, host: this.host, links, names, net, bridge });
    const dir = path.join(this.o.stateDir, names.namespace);
    const files = dnsmasqFiles(net, dir, SERVICE_DEVICE);
    if (files) await ensureDnsmasq(this.root.inNamespace(names.namespace), dir, files);
    else await stopDnsmasq(dir);
    await ensureMetadataProxy(names.namespace, dir, net.id, this.o.metadataSocket);
  }

  private async filters(networks: HostNetwork[]): Promise<void> {
    await this.host.run('nft', ['-f', '-'], nftRuleset(networks));
    await this.host.run('iptables-restore', ['-w', '--noflush'], iptablesRules(networks));
    await this.ensureJump('raw', 'PREROUTING', ['-j', ZONE_CHAIN]);
    await this.ensureJump('filter', 'FORWARD', ['-m', 'physdev', '--physdev-is-bridged', '-j', FORWARD_CHAIN]);
  }

  private async ensureJump(table: string, chain: string, rule: string[]): Promise<void> {
    try {
      await this.host.run('iptables', ['-w', '-t', table, '-C', chain, ...rule]);
    } catch {
      await this.host.run('iptables', ['-w', '-t', table, '-I', chain, '1', ...rule]);
    }
  }

  private async removeStale(links: Map<string, unknown>, wantedLinks: Set<string>, wantedNamespaces: Set<string>): Promise<void> {
    for (const name of links.keys()) {
      if (OURS.test(name) && !wantedLinks.has(name)) await this.host.run('ip', ['link', 'del', name]).catch(() => {});
    }
    const namespaces = await this.root.json<{ name: string }>(['netns', 'list']);
    for (const { name } of namespaces) {
      if (!name.startsWith(this.o.namespacePrefix) || wantedNamespaces.has(name)) continue;
      await stopDnsmasq(path.join(this.o.stateDir, name));
      await stopMetadataProxy(path.join(this.o.stateDir, name));
      await this.root.run('ip', ['netns', 'del', name]);
      this.o.log.info({ namespace: name }, 'removed the service namespace of a network no longer on this host');
    }
  }
}
