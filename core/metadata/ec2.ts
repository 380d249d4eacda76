import { sanitizeHostname } from './hostname.ts';
import type { MetadataSource } from './source.ts';

/** The EC2 metadata versions Nova serves, oldest first; `latest` is the last of them. */
export const EC2_VERSIONS = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2007-08-29',
  '2007-10-10',
  '2007-12-15',
  '2008-02-01',
  '2008-09-01',
  '2009-04-04',
] as const;

type Dated = (typeof EC2_VERSIONS)[number];
export type Ec2Version = Dated | 'latest';

export function isEc2Version(v: string): v is Ec2Version {
  return v === 'latest' || (EC2_VERSIONS as readonly string[]).includes(v);
}

function since(version: Ec2Version, added: Dated): boolean {
  return version === 'latest' || EC2_VERSIONS.indexOf(version) >= EC2_VERSIONS.indexOf(added);
}

/** What the EC2 tree says that a MetadataSource does not hold; each key is left out when not given. */
export interface Ec2Extras {
  imageId?: string;
  securityGroups?: string[];
  /** The flavor's name. */
  instanceType?: string;
}

export type Ec2Leaf = string | number | string[] | Buffer | null;
/** A directory; `listedAs` is how its parent lists it when not `<key>/` (Nova lists a key as `0=<name>`). */
export interface Ec2Dir {
  entries: Record<string, Ec2Node>;
  listedAs?: string;
}
export type Ec2Node = Ec2Leaf | Ec2Dir;

export function isEc2Dir(node: Ec2Node): node is Ec2Dir {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !Buffer.isBuffer(node);
}

/**
 * Nova's EC2 ids are `i-%08x` of a database integer; ours are UUIDs, so the id's hex comes from
 * the UUID itself: its first 8 hex digits (stable, and an operator can match it to the UUID).
 */
export function ec2Id(prefix: 'i' | 'ami' | 'r', uuid: string, from = 0): string {
  return `${prefix}-${uuid.replace(/-/g, '').slice(from, from + 8).toLowerCase()}`;
}

/** One EC2 version's root: `meta-data` and, when there is user data, `user-data`. */
export function ec2Tree(src: MetadataSource, version: Ec2Version, extras: Ec2Extras = {}): Ec2Dir {
  const top: Record<string, Ec2Node> = { 'meta-data': ec2MetaData(src, version, extras) };
  if (src.userData) top['user-data'] = src.userData;
  return { entries: top };
}

/**
 * One EC2 version's `meta-data` directory. Fields arrive with the version Nova added them in. Left out, for want of the facts: `public-ipv4` (floating IPs),
 * `block-device-mapping` (guest device names), `ami-manifest-path` (Nova's is the literal
 * 'FIXME'), and `local-ipv4` when the guest has no IPv4 address.
 */
export function ec2MetaData(src: MetadataSource, version: Ec2Version, extras: Ec2Extras = {}): Ec2Dir {
  const hostname = sanitizeHostname(src.name, src.uuid);
  const md: Record<string, Ec2Node> = {};
  if (extras.imageId) md['ami-id'] = ec2Id('ami', extras.imageId);
  md['ami-launch-index'] = src.launchIndex;
  md['instance-id'] = ec2Id('i', src.uuid);
  md.hostname = hostname;
  const ipv4 = src.nics.flatMap((n) => n.fixedIps).find((f) => f.subnet.ipVersion === 4);
  if (ipv4) md['local-ipv4'] = ipv4.ip;
  // Nova's reservation id names the create request; we have none, so the UUID's next 8 hex digits.
  md['reservation-id'] = ec2Id('r', src.uuid, 8);
  if (extras.securityGroups) md['security-groups'] = extras.securityGroups;
  if (src.keyPair) {
    md['public-keys'] = { entries: { '0': { entries: { 'openssh-key': src.keyPair.publicKey }, listedAs: `0=${src.keyPair.name}` } } };
  }
  if (since(version, '2007-01-19')) {
    md['local-hostname'] = hostname;
    md['public-hostname'] = hostname;
  }
  if (since(version, '2007-08-29') && extras.instanceType) md['instance-type'] = extras.instanceType;
  if (since(version, '2008-02-01')) md.placement = { entries: { 'availability-zone': src.availabilityZone } };
  if (since(version, '2008-09-01')) md['instance-action'] = 'none';
  return { entries: md };
}

/** A directory as plain JSON values, as the config drive's meta-data.json holds it. */
export function ec2Json(dir: Ec2Dir): Record<string, unknown> {
  return Object.fromEntries(Object.entries(dir.entries).map(([k, v]) => [k, isEc2Dir(v) ? ec2Json(v) : v]));
}

/** The node under `path` (names below a directory), or undefined. */
export function ec2Find(dir: Ec2Dir, path: string[]): Ec2Node | undefined {
  let node: Ec2Node = dir;
  for (const name of path) {
    if (!isEc2Dir(node) || !Object.hasOwn(node.entries, name)) return undefined;
    node = node.entries[name]!;
  }
  return node;
}

/**
 * What the service answers for a node, as Nova prints it: a directory lists its names sorted,
 * one a line, subdirectories with a trailing '/'; a list is one item a line; null is empty.
 */
export function ec2Text(node: Ec2Node): Buffer {
  if (Buffer.isBuffer(node)) return node;
  if (isEc2Dir(node)) {
    const names = Object.keys(node.entries).sort();
    return Buffer.from(
      names
        .map((k) => {
          const child = node.entries[k]!;
          return isEc2Dir(child) ? (child.listedAs ?? `${k}/`) : k;
        })
        .join('\n'),
    );
  }
  if (Array.isArray(node)) return Buffer.from(node.join('\n'));
  return Buffer.from(node === null ? '' : String(node));
}
