import { ORRERY_NS } from './domain-xml.ts';

/** Typed readings of virsh output. Each takes the text virsh printed and nothing else. */

/** libvirt's virDomainState, as `domstats --state` prints it (numbers: no locale, no wording). */
export interface RawState {
  state: number;
  reason: number;
}

/** `domstats --state [dom...]`: domain name to state and reason. */
export function parseDomstats(out: string): Map<string, RawState> {
  const states = new Map<string, RawState>();
  let current: { name: string; state?: number; reason?: number } | null = null;
  const flush = () => {
    if (current?.state !== undefined) {
      states.set(current.name, { state: current.state, reason: current.reason ?? 0 });
    }
  };
  for (const line of out.split('\n')) {
    const domain = /^Domain: '(.*)'$/.exec(line.trim());
    if (domain) {
      flush();
      current = { name: domain[1]! };
      continue;
    }
    const field = /^state\.(state|reason)=(\d+)$/.exec(line.trim());
    if (field && current) current[field[1] as 'state' | 'reason'] = Number(field[2]);
  }
  flush();
  return states;
}

/** One line per domain, e.g. `list --all --uuid`. */
export function parseLines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export interface DomainIdentity {
  name: string;
  uuid: string;
  /** Carries Orrery's metadata element. */
  managed: boolean;
  /** The generation in that element; 0 when absent. */
  generation: number;
  /** The image id in that element; null when absent. */
  imageId: string | null;
  /** The MACs of its NICs, lower case. */
  macs: string[];
}

/** The parts of a `dumpxml` the driver needs. */
export function parseDomainXml(xml: string): DomainIdentity {
  const name = /<name>([^<]*)<\/name>/.exec(xml)?.[1];
  const uuid = /<uuid>([^<]*)<\/uuid>/.exec(xml)?.[1];
  if (name === undefined || uuid === undefined) throw new Error('domain XML without name or uuid');
  const prefix = new RegExp(`xmlns:([\\w.-]+)=["']${escapeRegExp(ORRERY_NS)}["']`).exec(xml)?.[1];
  const generation = prefix
    ? /^\d+$/.exec(new RegExp(`<${prefix}:generation>([^<]*)<`).exec(xml)?.[1] ?? '')?.[0]
    : undefined;
  const image = prefix ? new RegExp(`<${prefix}:image>([^<]*)<`).exec(xml)?.[1] : undefined;
  return {
    name: unescapeXml(name),
    uuid: uuid.toLowerCase(),
    managed: prefix !== undefined,
    generation: generation === undefined ? 0 : Number(generation),
    imageId: image === undefined ? null : unescapeXml(image),
    macs: interfaceElements(xml).map((i) => i.mac),
  };
}

/** Each `<interface>` element of a domain XML with its MAC (lower case), as libvirt printed it. */
export function interfaceElements(xml: string): { mac: string; xml: string }[] {
  const out: { mac: string; xml: string }[] = [];
  for (const [element] of xml.matchAll(/<interface\b[\s\S]*?<\/interface>/g)) {
    const mac = /<mac address=["']([0-9a-fA-F:]+)["']/.exec(element)?.[1];
    if (mac) out.push({ mac: mac.toLowerCase(), xml: element });
  }
  return out;
}

/** Several `dumpxml` outputs printed back to back by one batched call. */
export function splitDomainXmls(out: string): string[] {
  return out
    .split(/(?<=<\/domain>)/)
    .map((x) => x.trim())
    .filter((x) => x.startsWith('<domain'));
}

export interface NodeInfo {
  cpus: number;
  memoryKib: number;
}

/** `nodeinfo`: `CPU(s):  2` and `Memory size:  4417748 KiB`. */
export function parseNodeinfo(out: string): NodeInfo {
  const field = (label: string) => {
    const m = new RegExp(`^${escapeRegExp(label)}:\\s*(\\d+)`, 'm').exec(out);
    if (!m) throw new Error(`nodeinfo without ${label}`);
    return Number(m[1]);
  };
  return { cpus: field('CPU(s)'), memoryKib: field('Memory size') };
}

export interface HostCpu {
  arch: string;
  model: string;
  features: string[];
}

/** The host CPU from `capabilities`. */
export function parseCapabilities(xml: string): HostCpu {
  const cpu = /<host>[\s\S]*?<cpu>([\s\S]*?)<\/cpu>/.exec(xml)?.[1];
  if (!cpu) throw new Error('capabilities without a host CPU');
  const text = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(cpu)?.[1] ?? '';
  const features = [...cpu.matchAll(/<feature name='([^']+)'\/>/g)].map((m) => m[1]!);
  return { arch: text('arch'), model: text('model'), features };
}

/** `version`: the `Running hypervisor: QEMU 7.2.22` line. */
export function parseHypervisorVersion(out: string): { type: string; version: string } {
  const m = /^Running hypervisor:\s*(\S+)\s+(\S+)/m.exec(out);
  if (!m) throw new Error('virsh version without a running hypervisor');
  return { type: m[1]!, version: m[2]! };
}

/** MemTotal of /proc/meminfo, in KiB. */
export function parseMemTotalKib(meminfo: string): number {
  const m = /^MemTotal:\s*(\d+) kB/m.exec(meminfo);
  if (!m) throw new Error('/proc/meminfo without MemTotal');
  return Number(m[1]);
}

function unescapeXml(s: string): string {
  return s.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(lt|gt|amp|apos|quot));/gi, (_, dec, hex, named) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }[named as 'lt'];
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
