import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetadataSource } from '../core/metadata/source.ts';
import { configDriveFiles, metadataHttp, type MetadataOptions } from '../core/metadata/tree.ts';
import { cloudInitRead, cloudInitUnavailable } from './support/cloud-init.ts';
import { bare, countingBytes, PUBLIC_KEY, twoNics, USER_DATA } from './support/metadata-sources.ts';

const unavailable = await cloudInitUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the cloud-init reader tests: ${unavailable} ***\n`);

const OPTS: MetadataOptions = {
  randomBytes: countingBytes,
  ec2: { imageId: 'c0ffee00-1234-4abc-8def-0123456789ab', securityGroups: ['default', 'web'], instanceType: 'm1.small' },
};
const MACS = { 'fa:16:3e:11:22:33': 'eth0', 'fa:16:3e:44:55:66': 'eth1' };
const SEED = countingBytes(512).toString('base64');
const HOST = 'web-server-01-example';

/** What cloud-init makes of the two-NIC guest's OpenStack documents, whichever way it reads them. */
const TWO_NICS_OPENSTACK = {
  metadata: {
    uuid: twoNics.uuid,
    'instance-id': twoNics.uuid,
    hostname: HOST,
    'local-hostname': HOST,
    name: twoNics.name,
    public_keys: { 'alice-key': PUBLIC_KEY },
    meta: { role: 'web', tier: 'front' },
    availability_zone: 'zone-a',
    launch_index: 1,
    project_id: twoNics.projectId,
  },
  random_seed: SEED,
  userdata: USER_DATA.toString('base64'),
  vendordata: {},
  vendordata2: {},
  network: {
    version: 1,
    config: [
      { name: 'eth0', type: 'physical', mac_address: 'fa:16:3e:11:22:33', mtu: 1450, subnets: [{ type: 'dhcp4' }] },
      {
        name: 'eth1',
        type: 'physical',
        mac_address: 'fa:16:3e:44:55:66',
        mtu: 1500,
        'accept-ra': false,
        subnets: [
          { type: 'static', address: '192.168.50.10', netmask: '255.255.255.192', routes: [], ipv4: true },
          {
            type: 'static6',
            address: 'fd00:1::5',
            netmask: 'ffff:ffff:ffff:ffff::',
            routes: [
              { network: '::', netmask: '::', gateway: 'fd00:1::1' },
              { network: 'fd00:2::', netmask: 'ffff:ffff:ffff::', gateway: 'fd00:1::fe' },
            ],
            ipv6: true,
          },
        ],
      },
      { type: 'nameserver', address: '10.0.0.2' },
      { type: 'nameserver', address: '9.9.9.9' },
      { type: 'nameserver', address: 'fd00:1::53' },
    ],
  },
};

const BARE_OPENSTACK = {
  metadata: {
    uuid: bare.uuid,
    'instance-id': bare.uuid,
    hostname: `server-${bare.uuid}`,
    'local-hostname': `server-${bare.uuid}`,
    name: bare.name,
    availability_zone: null,
    launch_index: 0,
    project_id: bare.projectId,
  },
  random_seed: SEED,
  userdata: null,
  vendordata: {},
  vendordata2: {},
  network: { version: 1, config: [] },
};

describe.skipIf(unavailable !== null)("cloud-init's OpenStack reader on our trees", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-config-drive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the guest's config drive under `dir/<name>` and returns its path. */
  async function drive(name: string, src: MetadataSource): Promise<string> {
    const root = path.join(dir, name);
    for (const [rel, body] of configDriveFiles(src, OPTS)) {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), body);
    }
    return root;
  }

  describe('from a config drive', () => {
    it('reads the two-NIC guest', async () => {
      const got = await cloudInitRead('drive', await drive('two-nics', twoNics), MACS);
      const { ec2, ...openstack } = got;
      expect(openstack).toEqual(TWO_NICS_OPENSTACK);
      expect(ec2).toEqual({
        'ami-id': 'ami-c0ffee00',
        'ami-launch-index': 1,
        'instance-id': 'i-6f1c2a9e',
        hostname: HOST,
        'local-ipv4': '10.0.0.5',
        'reservation-id': 'r-3b4d4e5f',
        'security-groups': ['default', 'web'],
        'public-keys': { '0': { 'openssh-key': PUBLIC_KEY } },
        'local-hostname': HOST,
        'public-hostname': HOST,
        'instance-type': 'm1.small',
        placement: { 'availability-zone': 'zone-a' },
        'instance-action': 'none',
      });
    });

    it('reads the guest with nothing', async () => {
      const { ec2, ...openstack } = await cloudInitRead('drive', await drive('bare', bare), {});
      expect(openstack).toEqual(BARE_OPENSTACK);
      expect(ec2).toEqual({
        'ami-id': 'ami-c0ffee00',
        'ami-launch-index': 0,
        'instance-id': 'i-0a0b0c0d',
        hostname: `server-${bare.uuid}`,
        'reservation-id': 'r-1e2f4a5b',
        'security-groups': ['default', 'web'],
        'local-hostname': `server-${bare.uuid}`,
        'public-hostname': `server-${bare.uuid}`,
        'instance-type': 'm1.small',
        placement: { 'availability-zone': null },
        'instance-action': 'none',
      });
    });
  });

  describe('from the metadata service', () => {
    let server: Server;
    let source: MetadataSource;
    let base: string;
    const requests: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        requests.push(req.url!);
        const answer = metadataHttp(source, req.url!, OPTS);
        res.writeHead(answer.status, { 'content-type': answer.contentType });
        res.end(answer.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    it('reads the two-NIC guest, choosing the newest version it knows from our listing', async () => {
      source = twoNics;
      requests.length = 0;
      const { ec2, ...openstack } = await cloudInitRead('http', base, MACS);
      expect(openstack).toEqual(TWO_NICS_OPENSTACK);
      expect(requests).toContain('/openstack/2018-08-27/meta_data.json');
      // Over HTTP every EC2 leaf is text; cloud-init splits lists on newlines and names keys by `0=<name>`.
      expect(ec2).toEqual({
        'ami-id': 'ami-c0ffee00',
        'ami-launch-index': '1',
        'instance-id': 'i-6f1c2a9e',
        hostname: HOST,
        'local-ipv4': '10.0.0.5',
        'reservation-id': 'r-3b4d4e5f',
        'security-groups': ['default', 'web'],
        'public-keys': { 'alice-key': PUBLIC_KEY },
        'local-hostname': HOST,
        'public-hostname': HOST,
        'instance-type': 'm1.small',
        placement: { 'availability-zone': 'zone-a' },
        'instance-action': 'none',
      });
    });

    it('reads the guest with nothing', async () => {
      source = bare;
      const { ec2, ...openstack } = await cloudInitRead('http', base, {});
      expect(openstack).toEqual(BARE_OPENSTACK);
      expect(ec2).toEqual({
        'ami-id': 'ami-c0ffee00',
        'ami-launch-index': '0',
        'instance-id': 'i-0a0b0c0d',
        hostname: `server-${bare.uuid}`,
        'reservation-id': 'r-1e2f4a5b',
        'security-groups': ['default', 'web'],
        'local-hostname': `server-${bare.uuid}`,
        'public-hostname': `server-${bare.uuid}`,
        'instance-type': 'm1.small',
        placement: { 'availability-zone': '' },
        'instance-action': 'none',
      });
    });
  });
});
