import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Debian's cloud-init lives in the system interpreter's dist-packages, not in whatever python3 is first on PATH. */
const PYTHON = '/usr/bin/python3';

/**
 * Why the cloud-init reader tests cannot run here, or null when they can. Without the package they
 * are skipped only where it cannot be installed (not root); as root, a missing package is an error.
 */
export async function cloudInitUnavailable(): Promise<string | null> {
  const present = await run(PYTHON, ['-c', 'import cloudinit.sources.helpers.openstack'], { timeout: 30_000 }).then(() => true, () => false);
  if (present) return null;
  const why = `Debian's cloud-init is not installed (${PYTHON} cannot import cloudinit); run scripts/install-host-deps.sh`;
  if (process.getuid?.() === 0) throw new Error(why);
  return why;
}

/**
 * Reads a config drive (`drive <dir>`) or the metadata service (`http <url>`) with cloud-init's
 * OpenStack reader, and prints what it got as JSON: the metadata after cloud-init's own renames,
 * the user data (base64), vendor data, the EC2 metadata, and the network config that
 * convert_net_json makes of network_data.json for NICs with the given MACs.
 * Over HTTP, cloud-init reads EC2 metadata from the fixed link-local address; it is pointed at
 * the test's server instead.
 */
const READER = `
import base64, json, sys
from cloudinit.sources.helpers import ec2, openstack

mode, where, macs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if mode == 'drive':
    reader = openstack.ConfigDriveReader(where)
else:
    reader = openstack.MetadataReader(where, retries=0)
    reader._read_ec2_metadata = lambda: ec2.get_instance_metadata(metadata_address=where, retries=0)
got = reader.read_v2()
md = got['metadata']
keys = ('uuid', 'instance-id', 'hostname', 'local-hostname', 'name', 'public_keys', 'meta',
        'availability_zone', 'launch_index', 'project_id')
print(json.dumps({
    'metadata': {k: md[k] for k in keys if k in md},
    'random_seed': base64.b64encode(md['random_seed']).decode(),
    'userdata': base64.b64encode(got['userdata']).decode() if got['userdata'] else None,
    'vendordata': got.get('vendordata'),
    'vendordata2': got.get('vendordata2'),
    'ec2': got['ec2-metadata'],
    'network': openstack.convert_net_json(got.get('networkdata'), known_macs=macs),
}))
`;

export interface CloudInitRead {
  metadata: Record<string, unknown>;
  random_seed: string;
  userdata: string | null;
  vendordata: unknown;
  vendordata2: unknown;
  ec2: Record<string, unknown>;
  network: unknown;
}

/** What cloud-init reads from a config drive directory or a metadata service URL; `macs` maps the guest's MACs to its NIC names. */
export async function cloudInitRead(mode: 'drive' | 'http', where: string, macs: Record<string, string>): Promise<CloudInitRead> {
  const { stdout } = await run(PYTHON, ['-c', READER, mode, where, JSON.stringify(macs)], { timeout: 60_000 });
  return JSON.parse(stdout) as CloudInitRead;
}
