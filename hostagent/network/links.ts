import type { HostCommands } from './exec.ts';

/** One device as `ip -j -d link show` describes it (the fields the plumbing reads). */
export interface Link {
  ifname: string;
  address?: string;
  mtu: number;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean } };
}

export async function readLinks(sh: HostCommands): Promise<Map<string, Link>> {
  const links = await sh.json<Link>(['-d', 'link', 'show']);
  return new Map(links.map((l) => [l.ifname, l]));
}

/** A device's MTU, master and up state made what they must be, each only when it differs. */
export async function settle(sh: HostCommands, link: Link | undefined, name: string, want: { mtu?: number; master?: string }): Promise<void> {
  const args: string[] = [];
  if (want.mtu !== undefined && link?.mtu !== want.mtu) args.push('mtu', String(want.mtu));
  if (want.master !== undefined && link?.master !== want.master) args.push('master', want.master);
  if (!link?.flags.includes('UP')) args.push('up');
  if (args.length) await sh.run('ip', ['link', 'set', 'dev', name, ...args]);
}

/** An Orrery bridge: created if missing, with br_netfilter on so the security groups see it. */
export async function ensureBridge(sh: HostCommands, links: Map<string, Link>, name: string, mtu: number, ours: boolean): Promise<void> {
  let link = links.get(name);
  if (!link) {
    if (!ours) throw new Error(`provider bridge ${name} does not exist on this host`);
    await sh.run('ip', ['link', 'add', name, 'mtu', String(mtu), 'type', 'bridge']);
    link = undefined;
  }
  await sh.run('ip', ['link', 'set', 'dev', name, 'type', 'bridge', 'nf_call_iptables', '1']);
  await settle(sh, link, name, ours ? { mtu } : {});
}

/**
 * The network's VXLAN device on the bridge, without learning or multicast: one all-zero FDB entry
 * per peer makes the kernel copy broadcast and unknown frames to each (head-end replication).
 */
export async function ensureVxlan(
  sh: HostCommands,
  links: Map<string, Link>,
  o: { name: string; vni: number; local: string; mtu: number; bridge: string; peers: string[] },
): Promise<void> {
  let link = links.get(o.name);
  const info = link?.linkinfo?.info_data;
  if (link && (link.linkinfo?.info_kind !== 'vxlan' || info?.id !== o.vni || info?.local !== o.local || info?.learning !== false)) {
    await sh.run('ip', ['link', 'del', o.name]);
    link = undefined;
  }
  if (!link) {
    await sh.run('ip', ['link', 'add', o.name, 'mtu', String(o.mtu), 'type', 'vxlan', 'id', String(o.vni), 'local', o.local, 'dstport', '4789', 'nolearning']);
  }
  await settle(sh, link, o.name, { mtu: o.mtu, master: o.bridge });
  const fdb = JSON.parse((await sh.run('bridge', ['-j', 'fdb', 'show', 'dev', o.name])) || '[]') as { mac: string; dst?: string }[];
  const have = new Set(fdb.filter((e) => e.mac === '00:00:00:00:00:00' && e.dst).map((e) => e.dst!));
  for (const peer of o.peers.filter((p) => !have.has(p))) {
    await sh.run('bridge', ['fdb', 'append', '00:00:00:00:00:00', 'dev', o.name, 'dst', peer]);
  }
  for (const gone of [...have].filter((p) => !o.peers.includes(p))) {
    await sh.run('bridge', ['fdb', 'del', '00:00:00:00:00:00', 'dev', o.name, 'dst', gone]);
  }
}
