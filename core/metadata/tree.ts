import { posix } from 'node:path';
import { EC2_VERSIONS, ec2Find, ec2Json, ec2MetaData, ec2Text, ec2Tree, isEc2Version, type Ec2Extras } from './ec2.ts';
import { isOpenStackVersion, OPENSTACK_VERSIONS, openstackFiles, type OpenStackOptions } from './openstack.ts';
import type { MetadataSource } from './source.ts';

export interface MetadataOptions extends OpenStackOptions {
  ec2?: Ec2Extras;
}

export interface MetadataResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/**
 * Every file of the config drive, by its path on the drive, laid out as Nova writes it
 * (`metadata_for_config_drive`): each EC2 version's meta-data.json and user-data, then each
 * OpenStack version's files, `latest` included in both.
 */
export function configDriveFiles(src: MetadataSource, opts: MetadataOptions = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const v of [...EC2_VERSIONS, 'latest'] as const) {
    if (src.userData) files.set(`ec2/${v}/user-data`, src.userData);
    files.set(`ec2/${v}/meta-data.json`, Buffer.from(JSON.stringify(ec2Json(ec2MetaData(src, v, opts.ec2)))));
  }
  for (const v of [...OPENSTACK_VERSIONS, 'latest'] as const) {
    for (const [name, file] of openstackFiles(src, v, opts)) files.set(`openstack/${v}/${name}`, file.body);
  }
  return files;
}

const text = (body: string | Buffer): MetadataResponse => ({ status: 200, contentType: 'text/plain', body: Buffer.from(body) });
const NOT_FOUND: MetadataResponse = { status: 404, contentType: 'text/plain', body: Buffer.from('Not Found') };

/**
 * What the metadata service answers to a GET of `urlPath`, as Nova's handler does. The path is
 * normalised first (no trailing slash, no empty or dot segments), so `/openstack/` and
 * `/openstack` are one request, as are `/latest/meta-data/` and `/latest/meta-data`. `/` lists
 * the EC2 versions; anything not under `/openstack` is EC2 (an explicit `/ec2/` prefix too).
 */
export function metadataHttp(src: MetadataSource, urlPath: string, opts: MetadataOptions = {}): MetadataResponse {
  const tokens = pathTokens(urlPath);
  if (tokens === null) return NOT_FOUND;
  if (tokens[0] === 'openstack') return openstackAnswer(src, tokens.slice(1), opts);
  return ec2Answer(src, tokens[0] === 'ec2' ? tokens.slice(1) : tokens, opts);
}

/** The path's segments without the query, decoded and normalised; null when it does not decode. */
function pathTokens(urlPath: string): string[] | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!);
  } catch {
    return null;
  }
  return posix.normalize(`/${path}`).split('/').filter((s) => s !== '');
}

function openstackAnswer(src: MetadataSource, rest: string[], opts: MetadataOptions): MetadataResponse {
  const [version, ...file] = rest;
  if (version === undefined) return text([...OPENSTACK_VERSIONS, 'latest'].join('\n'));
  if (!isOpenStackVersion(version)) return NOT_FOUND;
  const files = openstackFiles(src, version, opts);
  if (file.length === 0) return text([...files.keys()].join('\n'));
  const found = files.get(file.join('/'));
  if (!found) return NOT_FOUND;
  return found.json ? { status: 200, contentType: 'application/json', body: found.body } : text(found.body);
}

function ec2Answer(src: MetadataSource, rest: string[], opts: MetadataOptions): MetadataResponse {
  const [version, ...path] = rest;
  if (version === undefined) return text([...EC2_VERSIONS, 'latest'].join('\n'));
  if (!isEc2Version(version)) return NOT_FOUND;
  const node = ec2Find(ec2Tree(src, version, opts.ec2), path);
  return node === undefined ? NOT_FOUND : text(ec2Text(node));
}
