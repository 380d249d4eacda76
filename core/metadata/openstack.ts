import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { sanitizeHostname } from './hostname.ts';
import { networkData } from './network-data.ts';
import type { MetadataSource } from './source.ts';

/**
 * The dated OpenStack metadata versions Nova serves (nova/api/metadata/base.py), oldest first.
 * A guest asks for the newest it knows, so each keeps the files and fields it had then.
 */
export const OPENSTACK_VERSIONS = [
  '2012-08-10', // Folsom: meta_data.json, user_data
  '2013-04-04', // Grizzly: random_seed
  '2013-10-17', // Havana: vendor_data.json
  '2015-10-15', // Liberty: network_data.json, project_id
  '2016-06-30', // Newton: devices
  '2016-10-06', // Newton: vendor_data2.json
  '2017-02-22', // Ocata: VLANs in devices
  '2018-08-27', // Rocky: trusted VFs in devices
  '2020-10-14', // Victoria: dedicated_cpus
  '2025-04-04', // Epoxy: shares in devices
] as const;

type Dated = (typeof OPENSTACK_VERSIONS)[number];
/** A dated version, or `latest` (everything, as of the newest). */
export type OpenStackVersion = Dated | 'latest';

export function isOpenStackVersion(v: string): v is OpenStackVersion {
  return v === 'latest' || (OPENSTACK_VERSIONS as readonly string[]).includes(v);
}

/** Whether `version` has what Nova added in `added`; `latest` has everything. */
function since(version: OpenStackVersion, added: Dated): boolean {
  return version === 'latest' || OPENSTACK_VERSIONS.indexOf(version) >= OPENSTACK_VERSIONS.indexOf(added);
}

export interface OpenStackOptions {
  /** Where random_seed comes from; tests pass a fixed source. Defaults to crypto.randomBytes. */
  randomBytes?: (size: number) => Buffer;
}

/** One file of a version's directory; JSON ones are served as application/json. */
export interface MetadataFile {
  body: Buffer;
  json: boolean;
}

/**
 * The files of one OpenStack version in Nova's listing order. Nova also lists `password` (from
 * Grizzly) for its set-password flow; we have no admin password, so there is none.
 * Both vendor data files are `{}`: we have no vendor data (Nova with its default StaticJSON
 * provider and no file writes `{"static": {}}` for vendor_data2.json; the reader takes either).
 */
export function openstackFiles(src: MetadataSource, version: OpenStackVersion, opts: OpenStackOptions = {}): Map<string, MetadataFile> {
  const files = new Map<string, MetadataFile>();
  const json = (v: unknown): MetadataFile => ({ body: Buffer.from(JSON.stringify(v)), json: true });
  files.set('meta_data.json', json(metaData(src, version, opts.randomBytes ?? cryptoRandomBytes)));
  if (src.userData) files.set('user_data', { body: src.userData, json: false });
  if (since(version, '2013-10-17')) files.set('vendor_data.json', json({}));
  if (since(version, '2015-10-15')) files.set('network_data.json', json(networkData(src)));
  if (since(version, '2016-10-06')) files.set('vendor_data2.json', json({}));
  return files;
}

/**
 * meta_data.json. Keys appear only when there is something to say, as in Nova: `meta` only with
 * metadata, `public_keys`/`keys` only with a key pair; no `admin_pass` (we set none) and no
 * `files` (no injected files). `devices` is empty: we publish no device tags. `dedicated_cpus` is
 * empty: we pin no CPUs. Nova draws a new random_seed for every read, so each version's differs.
 */
function metaData(src: MetadataSource, version: OpenStackVersion, randomBytes: (size: number) => Buffer): Record<string, unknown> {
  const md: Record<string, unknown> = { uuid: src.uuid };
  if (Object.keys(src.meta).length > 0) md.meta = src.meta;
  if (src.keyPair) {
    md.public_keys = { [src.keyPair.name]: src.keyPair.publicKey };
    md.keys = [{ name: src.keyPair.name, type: 'ssh', data: src.keyPair.publicKey }];
  }
  md.hostname = sanitizeHostname(src.name, src.uuid);
  md.name = src.name;
  md.launch_index = src.launchIndex;
  md.availability_zone = src.availabilityZone;
  if (since(version, '2013-04-04')) md.random_seed = randomBytes(512).toString('base64');
  if (since(version, '2015-10-15')) md.project_id = src.projectId;
  if (since(version, '2016-06-30')) md.devices = [];
  if (since(version, '2020-10-14')) md.dedicated_cpus = [];
  return md;
}
