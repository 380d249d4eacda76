import { describe, expect, it } from 'vitest';
import { sanitizeHostname } from '../core/metadata/hostname.ts';
import { configDriveFiles, metadataHttp } from '../core/metadata/tree.ts';
import { bare, countingBytes, PUBLIC_KEY, twoNics, USER_DATA } from './support/metadata-sources.ts';

const SEED = countingBytes(512).toString('base64');
const OS_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', '2020-10-14', '2025-04-04'];
const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'];
const EXTRAS = { imageId: 'c0ffee00-1234-4abc-8def-0123456789ab', securityGroups: ['default', 'web'], instanceType: 'm1.small' };

const get = (path: string, src = twoNics) => metadataHttp(src, path, { randomBytes: countingBytes, ec2: EXTRAS });
const json = (b: Buffer | undefined) => JSON.parse(b!.toString());

const TWO_NICS_META = {
  uuid: twoNics.uuid,
  meta: { role: 'web', tier: 'front' },
  public_keys: { 'alice-key': PUBLIC_KEY },
  keys: [{ name: 'alice-key', type: 'ssh', data: PUBLIC_KEY }],
  hostname: 'web-server-01-example',
  name: 'Web_Server 01.example',
  launch_index: 1,
  availability_zone: 'zone-a',
  random_seed: SEED,
  project_id: twoNics.projectId,
  devices: [],
  dedicated_cpus: [],
};

const TWO_NICS_NETWORK = {
  links: [
    { id: 'tapa1111111-11', vif_id: 'a1111111-1111-4111-8111-111111111111', type: 'bridge', mtu: 1450, ethernet_mac_address: 'fa:16:3e:11:22:33' },
    { id: 'tapb2222222-22', vif_id: 'b2222222-2222-4222-8222-222222222222', type: 'bridge', mtu: 1500, ethernet_mac_address: 'fa:16:3e:44:55:66' },
  ],
  networks: [
    // DHCP: Nova says only that DHCP configures it; the routes and DNS come from the DHCP server.
    { id: 'network0', type: 'ipv4_dhcp', link: 'tapa1111111-11', network_id: 'n1111111-1111-4111-8111-111111111111' },
    {
      id: 'network1',
      type: 'ipv4',
      link: 'tapb2222222-22',
      ip_address: '192.168.50.10',
      netmask: '255.255.255.192',
      routes: [],
      network_id: 'n2222222-2222-4222-8222-222222222222',
      services: [],
    },
    {
      id: 'network2',
      type: 'ipv6',
      link: 'tapb2222222-22',
      ip_address: 'fd00:1::5',
      netmask: 'ffff:ffff:ffff:ffff::',
      routes: [
        { network: '::', netmask: '::', gateway: 'fd00:1::1' },
        { network: 'fd00:2::', netmask: 'ffff:ffff:ffff::', gateway: 'fd00:1::fe' },
      ],
      network_id: 'n2222222-2222-4222-8222-222222222222',
      services: [
        { type: 'dns', address: 'fd00:1::53' },
        { type: 'dns', address: '9.9.9.9' },
      ],
    },
  ],
  services: [
    { type: 'dns', address: '10.0.0.2' },
    { type: 'dns', address: '9.9.9.9' },
    { type: 'dns', address: 'fd00:1::53' },
  ],
};

const TWO_NICS_EC2 = {
  'ami-id': 'ami-c0ffee00',
  'ami-launch-index': 1,
  'instance-id': 'i-6f1c2a9e',
  hostname: 'web-server-01-example',
  'local-ipv4': '10.0.0.5',
  'reservation-id': 'r-3b4d4e5f',
  'security-groups': ['default', 'web'],
  'public-keys': { '0': { 'openssh-key': PUBLIC_KEY } },
  'local-hostname': 'web-server-01-example',
  'public-hostname': 'web-server-01-example',
  'instance-type': 'm1.small',
  placement: { 'availability-zone': 'zone-a' },
  'instance-action': 'none',
};

describe('sanitizeHostname', () => {
  const uuid = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
  it.each([
    ['My Server', 'my-server'],
    ['web_01.example.com', 'web-01-example-com'],
    ['--.Hello.--', 'hello'],
    ['Ünïcödé 名前 ok', 'ncd--ok'],
    ['a!b@c#d$e', 'abcde'],
    ['x'.repeat(70), 'x'.repeat(63)],
    // Nova cuts to 63 before it drops characters, so a name padded with dropped ones comes out shorter.
    [`${'!'.repeat(60)}abcdef`, 'abc'],
    ['-'.repeat(62) + 'a', 'a'],
  ])('%j becomes %j', (name, host) => {
    expect(sanitizeHostname(name, uuid)).toBe(host);
  });

  it('falls back to server-<uuid> when nothing is left', () => {
    expect(sanitizeHostname('名前', uuid)).toBe(`server-${uuid}`);
    expect(sanitizeHostname('', uuid)).toBe(`server-${uuid}`);
    expect(sanitizeHostname('._-', uuid)).toBe(`server-${uuid}`);
  });
});

describe('config drive of a guest with two NICs, a key, metadata and user data', () => {
  const files = configDriveFiles(twoNics, { randomBytes: countingBytes, ec2: EXTRAS });

  it('has exactly the files Nova writes, per version', () => {
    const expected: string[] = [];
    for (const v of [...EC2_VERSIONS, 'latest']) expected.push(`ec2/${v}/user-data`, `ec2/${v}/meta-data.json`);
    for (const [i, v] of [...OS_VERSIONS, 'latest'].entries()) {
      expected.push(`openstack/${v}/meta_data.json`, `openstack/${v}/user_data`);
      if (i >= 2) expected.push(`openstack/${v}/vendor_data.json`);
      if (i >= 3) expected.push(`openstack/${v}/network_data.json`);
      if (i >= 5) expected.push(`openstack/${v}/vendor_data2.json`);
    }
    expect([...files.keys()]).toEqual(expected);
  });

  it('writes the documents', () => {
    expect(json(files.get('openstack/latest/meta_data.json'))).toEqual(TWO_NICS_META);
    expect(json(files.get('openstack/latest/network_data.json'))).toEqual(TWO_NICS_NETWORK);
    expect(json(files.get('openstack/latest/vendor_data.json'))).toEqual({});
    expect(json(files.get('openstack/latest/vendor_data2.json'))).toEqual({});
    expect(files.get('openstack/latest/user_data')).toEqual(USER_DATA);
    expect(files.get('ec2/latest/user-data')).toEqual(USER_DATA);
    expect(json(files.get('ec2/latest/meta-data.json'))).toEqual(TWO_NICS_EC2);
    expect(files.get('ec2/2009-04-04/meta-data.json')).toEqual(files.get('ec2/latest/meta-data.json'));
    expect(files.get('openstack/2025-04-04/network_data.json')).toEqual(files.get('openstack/latest/network_data.json'));
  });

  it("gives each version the fields Nova had then", () => {
    const { random_seed: _s, project_id: _p, devices: _d, dedicated_cpus: _c, ...folsom } = TWO_NICS_META;
    expect(json(files.get('openstack/2012-08-10/meta_data.json'))).toEqual(folsom);
    expect(json(files.get('openstack/2013-04-04/meta_data.json'))).toEqual({ ...folsom, random_seed: SEED });
    expect(json(files.get('openstack/2015-10-15/meta_data.json'))).toEqual({ ...folsom, random_seed: SEED, project_id: twoNics.projectId });
    expect(json(files.get('openstack/2018-08-27/meta_data.json'))).toEqual({ ...folsom, random_seed: SEED, project_id: twoNics.projectId, devices: [] });
    expect(json(files.get('ec2/1.0/meta-data.json'))).toEqual({
      'ami-id': 'ami-c0ffee00',
      'ami-launch-index': 1,
      'instance-id': 'i-6f1c2a9e',
      hostname: 'web-server-01-example',
      'local-ipv4': '10.0.0.5',
      'reservation-id': 'r-3b4d4e5f',
      'security-groups': ['default', 'web'],
      'public-keys': { '0': { 'openssh-key': PUBLIC_KEY } },
    });
    const { placement: _pl, 'instance-action': _a, ...v2007 } = TWO_NICS_EC2;
    expect(json(files.get('ec2/2007-12-15/meta-data.json'))).toEqual(v2007);
  });

  it('draws random_seed from the random source, 512 bytes', () => {
    const real = configDriveFiles(twoNics);
    const seed = Buffer.from(json(real.get('openstack/latest/meta_data.json')).random_seed, 'base64');
    expect(seed).toHaveLength(512);
    expect(seed).not.toEqual(countingBytes(512));
  });
});

describe('config drive of a guest with nothing', () => {
  const files = configDriveFiles(bare, { randomBytes: countingBytes });

  it('has no user data files and says only what it knows', () => {
    expect([...files.keys()].filter((p) => p.includes('user'))).toEqual([]);
    expect(json(files.get('openstack/latest/meta_data.json'))).toEqual({
      uuid: bare.uuid,
      hostname: `server-${bare.uuid}`,
      name: '__..__',
      launch_index: 0,
      availability_zone: null,
      random_seed: SEED,
      project_id: bare.projectId,
      devices: [],
      dedicated_cpus: [],
    });
    expect(json(files.get('openstack/latest/network_data.json'))).toEqual({});
    expect(json(files.get('ec2/latest/meta-data.json'))).toEqual({
      'ami-launch-index': 0,
      'instance-id': 'i-0a0b0c0d',
      hostname: `server-${bare.uuid}`,
      'reservation-id': 'r-1e2f4a5b',
      'local-hostname': `server-${bare.uuid}`,
      'public-hostname': `server-${bare.uuid}`,
      placement: { 'availability-zone': null },
      'instance-action': 'none',
    });
  });

  it('writes a NIC without addresses as Nova does a VIF without subnets: no link, but a document', () => {
    const nic = { ...twoNics.nics[0]!, fixedIps: [] };
    const doc = json(configDriveFiles({ ...bare, nics: [nic] }).get('openstack/latest/network_data.json'));
    expect(doc).toEqual({ links: [], networks: [], services: [] });
  });
});

describe('metadata service answers', () => {
  const text = (path: string, src = twoNics) => {
    const r = get(path, src);
    return { status: r.status, type: r.contentType, body: r.body.toString() };
  };
  const ok = (body: string) => ({ status: 200, type: 'text/plain', body });
  const notFound = { status: 404, type: 'text/plain', body: 'Not Found' };

  it('lists the EC2 versions at the root, and the OpenStack versions under /openstack', () => {
    const ec2 = ok([...EC2_VERSIONS, 'latest'].join('\n'));
    expect(text('/')).toEqual(ec2);
    expect(text('')).toEqual(ec2);
    expect(text('/ec2/')).toEqual(ec2);
    const os = ok([...OS_VERSIONS, 'latest'].join('\n'));
    expect(text('/openstack')).toEqual(os);
    expect(text('/openstack/')).toEqual(os);
    expect(text('//openstack//')).toEqual(os);
  });

  it("lists a version's files, by version", () => {
    const latest = ok('meta_data.json\nuser_data\nvendor_data.json\nnetwork_data.json\nvendor_data2.json');
    expect(text('/openstack/latest')).toEqual(latest);
    expect(text('/openstack/latest/')).toEqual(latest);
    expect(text('/openstack/2018-08-27/')).toEqual(latest);
    expect(text('/openstack/2012-08-10')).toEqual(ok('meta_data.json\nuser_data'));
    expect(text('/openstack/2015-10-15')).toEqual(ok('meta_data.json\nuser_data\nvendor_data.json\nnetwork_data.json'));
    expect(text('/openstack/latest', bare)).toEqual(ok('meta_data.json\nvendor_data.json\nnetwork_data.json\nvendor_data2.json'));
  });

  it('serves the OpenStack files, JSON as application/json', () => {
    for (const path of ['/openstack/latest/meta_data.json', '/openstack/latest/meta_data.json/', '/openstack/2025-04-04/meta_data.json?x=1']) {
      const r = get(path);
      expect(r.status).toBe(200);
      expect(r.contentType).toBe('application/json');
      expect(json(r.body)).toEqual(TWO_NICS_META);
    }
    const net = get('/openstack/latest/network_data.json');
    expect([net.contentType, json(net.body)]).toEqual(['application/json', TWO_NICS_NETWORK]);
    const vd2 = get('/openstack/latest/vendor_data2.json');
    expect([vd2.contentType, vd2.body.toString()]).toEqual(['application/json', '{}']);
    const ud = get('/openstack/latest/user_data');
    expect([ud.status, ud.contentType, ud.body]).toEqual([200, 'text/plain', USER_DATA]);
  });

  it('walks the EC2 tree with Nova listings', () => {
    const listing = ok(
      'ami-id\nami-launch-index\nhostname\ninstance-action\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-keys/\nreservation-id\nsecurity-groups',
    );
    expect(text('/latest/meta-data/')).toEqual(listing);
    expect(text('/latest/meta-data')).toEqual(listing);
    expect(text('/2009-04-04/meta-data/')).toEqual(listing);
    expect(text('/latest')).toEqual(ok('meta-data/\nuser-data'));
    expect(text('/latest', bare)).toEqual(ok('meta-data/'));
    expect(text('/latest/meta-data/hostname')).toEqual(ok('web-server-01-example'));
    expect(text('/latest/meta-data/instance-id')).toEqual(ok('i-6f1c2a9e'));
    expect(text('/latest/meta-data/ami-launch-index')).toEqual(ok('1'));
    expect(text('/latest/meta-data/security-groups')).toEqual(ok('default\nweb'));
    expect(text('/latest/meta-data/public-keys/')).toEqual(ok('0=alice-key'));
    expect(text('/latest/meta-data/public-keys/0')).toEqual(ok('openssh-key'));
    expect(text('/latest/meta-data/public-keys/0/openssh-key')).toEqual(ok(PUBLIC_KEY));
    expect(text('/latest/meta-data/placement/')).toEqual(ok('availability-zone'));
    expect(text('/latest/meta-data/placement/availability-zone')).toEqual(ok('zone-a'));
    expect(text('/latest/meta-data/placement/availability-zone', bare)).toEqual(ok(''));
    expect(text('/1.0/meta-data')).toEqual(
      ok('ami-id\nami-launch-index\nhostname\ninstance-id\nlocal-ipv4\npublic-keys/\nreservation-id\nsecurity-groups'),
    );
    expect(get('/latest/user-data').body).toEqual(USER_DATA);
    expect(get('/ec2/latest/user-data').body).toEqual(USER_DATA);
  });

  it('leaves out what it is not told', () => {
    const r = metadataHttp(twoNics, '/latest/meta-data/');
    expect(r.body.toString()).toBe(
      'ami-launch-index\nhostname\ninstance-action\ninstance-id\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-keys/\nreservation-id',
    );
  });

  it('answers 404 for anything else', () => {
    for (const path of [
      '/openstack/2011-01-01',
      '/openstack/2011-01-01/meta_data.json',
      '/openstack/latest/nope',
      '/openstack/latest/meta_data.json/uuid',
      '/openstack/latest/password',
      '/openstack/2012-08-10/network_data.json',
      '/openstack/2013-04-04/vendor_data.json',
      '/openstack/2015-10-15/vendor_data2.json',
      '/openstack/content/0000',
      '/2010-01-01/meta-data',
      '/latest/meta-data/nope',
      '/latest/meta-data/hostname/x',
      '/latest/meta-data/public-keys/1',
      '/latest/meta-data/%zz',
    ]) {
      expect([path, text(path)]).toEqual([path, notFound]);
    }
    for (const path of ['/openstack/latest/user_data', '/latest/user-data', '/latest/meta-data/public-keys', '/latest/meta-data/local-ipv4']) {
      expect([path, text(path, bare)]).toEqual([path, notFound]);
    }
  });
});
