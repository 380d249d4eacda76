import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let member: OrreryClient;
let projectId = '';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkpX5iJ0Ay1L4+kp0y5C4u3VwA3fPq6lOq0TyI2fR1d cd@laptop';
const USER_DATA = '#cloud-config\nruncmd:\n  - echo "héllo, wörld"\n';

async function make(c: OrreryClient, kind: 'Network' | 'Subnet', input: Record<string, unknown>): Promise<void> {
  const d = await c.request(`mutation($i: ${kind}Input!) { r: create${kind}(input: $i) { __typename ... on Error { message } } }`, { i: input });
  if (d.r.__typename !== `Create${kind}Success`) throw new Error(JSON.stringify(d.r));
}

/** The fake domain's config drive, from the host the instance was built on. */
const drive = (id: string) => hosts[0]!.driver.domains.get(id)?.configDrive;
const json = (files: Map<string, Buffer>, file: string) => JSON.parse(files.get(file)!.toString('utf8'));

async function active(input: Record<string, unknown>): Promise<string> {
  const made = await createInstance(member, { flavor: 'cd.small', image: 'test-image', ...input });
  expect(made.__typename, JSON.stringify(made)).toBe('CreateInstanceSuccess');
  await waitFor('ACTIVE', () => instanceRow(tcp.db.sql, made.instance.id), (r) => r?.vm_state === 'active' && r.task_state === null);
  return made.instance.id;
}

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'cd.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member, projectId } = await tcp.userClient('cdp', 'cleo', ['member']));
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'cd-host' }]);
  await tcp.admin.request(`mutation { createAvailabilityZone(input: { name: "az-cd" }) { __typename } }`);
  await tcp.admin.request(`mutation { updateHost(ref: "cd-host", input: { zone: "az-cd" }) { __typename } }`);
  await member.request(`mutation($i: KeyPairInput!) { createKeyPair(input: $i) { __typename } }`, { i: { name: 'laptop', publicKey: KEY } });
  await make(member, 'Network', { name: 'cd-net' });
  await make(member, 'Subnet', { network: 'cd-net', cidr: '10.40.0.0/24', dnsServers: ['10.40.0.53'] });
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe('config drive (fake host)', () => {
  it("gives the guest Nova's config-2 tree: its uuid, hostname, zone, project, key, metadata, user data and NIC", async () => {
    const id = await active({
      name: 'Web_Server 1', configDrive: true, keyName: 'laptop', userData: USER_DATA, metadata: [{ key: 'role', value: 'web' }],
    });
    const q = await member.request(`query($id: ID!) { instance(id: $id) { configDrive } }`, { id });
    expect(q.instance.configDrive).toBe(true);
    const files = drive(id)!;
    expect(files).toBeInstanceOf(Map);
    expect(json(files, 'openstack/latest/meta_data.json')).toMatchObject({
      uuid: id,
      name: 'Web_Server 1',
      hostname: 'web-server-1',
      availability_zone: 'az-cd',
      project_id: projectId,
      launch_index: 0,
      public_keys: { laptop: KEY },
      keys: [{ name: 'laptop', type: 'ssh', data: KEY }],
      meta: { role: 'web' },
    });
    expect(files.get('openstack/latest/user_data')!.toString('utf8')).toBe(USER_DATA);
    const [port] = await tcp.db.sql<{ id: string; mac: string; ip: string }[]>`
      select p.id, p.mac::text, host(pi.ip) as ip from ports p join port_ips pi on pi.port_id = p.id where p.instance_id = ${id}`;
    const net = json(files, 'openstack/latest/network_data.json');
    expect(net.links).toEqual([expect.objectContaining({ ethernet_mac_address: port!.mac, vif_id: port!.id })]);
    expect(net.services).toEqual([{ type: 'dns', address: '10.40.0.53' }]);
    expect(json(files, 'ec2/latest/meta-data.json')).toMatchObject({ hostname: 'web-server-1', 'local-ipv4': port!.ip });
  });

  it('writes it anew at the next boot, so a metadata change made while the guest was off reaches it', async () => {
    const id = await active({ name: 'changing', configDrive: true, metadata: [{ key: 'v', value: '1' }] });
    const meta = () => json(drive(id)!, 'openstack/latest/meta_data.json').meta;
    expect(meta()).toEqual({ v: '1' });
    await updateInstance(member, id, { powerState: 'stopped' });
    await waitFor('SHUTOFF', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'stopped' && r.task_state === null);
    await updateInstance(member, id, { metadata: [{ key: 'v', value: '2' }] });
    await waitFor('observed', () => instanceRow(tcp.db.sql, id), (r) => r!.observed_generation === r!.generation);
    expect(meta()).toEqual({ v: '1' }); // not while it is off: at the next boot
    await updateInstance(member, id, { powerState: 'running' });
    await waitFor('ACTIVE', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.task_state === null);
    expect(meta()).toEqual({ v: '2' });
  });

  it('gives none unless asked', async () => {
    const id = await active({ name: 'plain' });
    expect(drive(id)).toBeNull();
    const q = await member.request(`query($id: ID!) { instance(id: $id) { configDrive } }`, { id });
    expect(q.instance.configDrive).toBe(false);
  });

  it("takes user data up to Nova's 64 KiB and refuses more with a ValidationError naming the field, writing nothing", async () => {
    const before = await tcp.db.sql`select count(*)::int as n from instances`;
    const tooBig = await createInstance(member, { name: 'big', flavor: 'cd.small', image: 'test-image', userData: 'x'.repeat(65536) });
    expect(tooBig).toMatchObject({ __typename: 'ValidationError', field: 'input.userData' });
    expect(await tcp.db.sql`select count(*)::int as n from instances`).toEqual(before);
    const id = await active({ name: 'biggest', configDrive: true, userData: 'y'.repeat(65535) });
    expect(drive(id)!.get('openstack/latest/user_data')!.length).toBe(65535);
  });

  it('refuses a configDrive that is not a boolean, naming the field, and writes nothing', async () => {
    const before = await tcp.db.sql`select count(*)::int as n from instances`;
    const input = { name: 'x', flavor: 'cd.small', image: 'test-image', configDrive: 'yes' };
    await expect(member.request(`mutation($i: CreateInstanceInput!) { createInstance(input: $i) { __typename } }`, { i: input }))
      .rejects.toThrow(/at "i\.configDrive"; Boolean cannot represent/);
    expect(await tcp.db.sql`select count(*)::int as n from instances`).toEqual(before);
  });
});
