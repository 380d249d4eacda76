import { isIP } from 'node:net';

/** An IP address as a number, so ranges and containment are plain comparisons. */
export interface Ip {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

const bits = (v: 4 | 6) => (v === 4 ? 32 : 128);

/** Parses an address (no prefix); null when it is not one. */
export function parseIp(text: string): Ip | null {
  const v = isIP(text);
  if (v === 4) return { version: 4, value: v4Value(text) };
  if (v !== 6) return null;
  let s = text.toLowerCase();
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hextets.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const n = v4Value(tail[1]!);
    s = s.slice(0, -tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function v4Value(text: string): bigint {
  return text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

/** Parses `address/prefix` with no host bits set (PostgreSQL's cidr); a string says why not. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const ip = m ? parseIp(m[1]!) : null;
  if (!m || !ip) return 'must be a CIDR such as 10.0.0.0/24 or fd00::/64';
  const prefix = Number(m[2]);
  if (prefix > bits(ip.version)) return `prefix length must be at most ${bits(ip.version)}`;
  const host = (1n << BigInt(bits(ip.version) - prefix)) - 1n;
  if ((ip.value & host) !== 0n) return `has host bits set (did you mean ${formatIp({ version: ip.version, value: ip.value & ~host })}/${prefix}?)`;
  return { version: ip.version, network: ip.value, prefix };
}

export function lastOf(c: Cidr): bigint {
  return c.network + (1n << BigInt(bits(c.version) - c.prefix)) - 1n;
}

export function contains(c: Cidr, ip: Ip): boolean {
  return ip.version === c.version && ip.value >= c.network && ip.value <= lastOf(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= lastOf(b) && b.network <= lastOf(a);
}

/** The addresses no port may hold: an IPv4 subnet's network and broadcast addresses, an IPv6 subnet's router anycast. */
export function reserved(c: Cidr): bigint[] {
  if (c.version === 6) return c.prefix < 128 ? [c.network] : [];
  return c.prefix <= 30 ? [c.network, lastOf(c)] : [];
}

export function formatIp(ip: Ip): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((ip.value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes '::'.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ version: c.version, value: c.network })}/${c.prefix}`;
}

