import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, seedImage } from './support/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let cwd: string;
let member: { projectId: string; token: string };

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'orrery-stack-net-test-'));
  tcp = await startTestControlPlane({ config: { dataDir: path.join(cwd, 'data') } });
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'cirros');
  await createFlavor(tcp.admin, 'm1.net', 1, 256, 1);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'net-host-1' }]);
  const m = await tcp.userClient('netstack', 'nadia', ['member']);
  member = { projectId: m.projectId, token: (await issueToken(tcp.db.sql, { kind: 'user', userId: m.userId, projectId: m.projectId })).secret };
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
  await rm(cwd, { recursive: true, force: true });
});

/** The real CLI as a child process, run in an empty folder, as the project's member. */
function orrery(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: member.token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function writeStack(name: string, content: object): Promise<string> {
  const file = path.join(cwd, name);
  await writeFile(file, stringify(content));
  return file;
}

const NET = { name: 'net-1', mtu: 1400 };
const SUBNET_A = {
  name: 'a', network: 'net-1', cidr: '10.20.0.0/24', dnsServers: ['10.20.0.53'],
  hostRoutes: [{ destination: '10.99.0.0/16', nexthop: '10.20.0.254' }], allocationPools: [{ first: '10.20.0.10', last: '10.20.0.100' }],
};
const SUBNET_B = { name: 'b', network: 'net-1', cidr: '10.21.0.0/24', gatewayIp: '10.21.0.254', dhcpEnabled: false };
/** b once its cidr has changed (and with it the gateway, which must lie inside). */
const SUBNET_B2 = { ...SUBNET_B, cidr: '10.22.0.0/24', gatewayIp: '10.22.0.254' };
const HTTP = { direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80, remoteCidr: '0.0.0.0/0' };
const WEB = { name: 'web', description: 'front', rules: [HTTP, { direction: 'egress' }] };
// db's first rule names web as its remote group: web must exist before it.
const DB = { name: 'db', rules: [{ direction: 'ingress', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteGroup: 'web' }, { direction: 'egress', ethertype: 'IPv6' }] };
const APP = { name: 'app-1', flavor: 'm1.net', image: 'cirros', networks: [{ network: 'net-1' }] };

function stack(over: { networks?: object[]; subnets?: object[]; securityGroups?: object[]; instances?: object[] } = {}) {
  return {
    apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 'net' },
    networks: [NET], subnets: [SUBNET_A, SUBNET_B], securityGroups: [WEB, DB], instances: [APP], ...over,
  };
}

const lines = (out: string) => out.trim().split('\n');

/** The world as the tables hold it: what each assertion compares. */
async function world() {
  const networks = await tcp.db.sql`select id, name, mtu, segment_type from networks where project_id = ${member.projectId} order by name`;
  const subnets = await tcp.db.sql`
    select s.id, s.name, s.cidr::text, host(s.gateway_ip) as gateway, s.dhcp_enabled, s.host_routes,
           array(select host(d) from unnest(s.dns_servers) d) as dns,
           array(select host(first) || '-' || host(last) from subnet_allocation_pools where subnet_id = s.id order by first) as pools
      from subnets s join networks n on n.id = s.network_id where n.project_id = ${member.projectId} order by s.name`;
  const ports = await tcp.db.sql`
    select i.name as instance, n.name as network, s.name as subnet, host(pi.ip) as ip
      from ports p join instances i on i.id = p.instance_id join networks n on n.id = p.network_id
      join port_ips pi on pi.port_id = p.id join subnets s on s.id = pi.subnet_id
     where p.project_id = ${member.projectId} order by i.name, pi.ip`;
  const rules = await tcp.db.sql`
    select g.name as group, r.id, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, r.remote_cidr::text, rg.name as remote_group
      from security_group_rules r join security_groups g on g.id = r.group_id left join security_groups rg on rg.id = r.remote_group_id
     where g.project_id = ${member.projectId} and g.name <> 'default' order by g.name, r.direction, r.ethertype, r.port_min`;
  const owned = (await tcp.db.sql<{ entry: string }[]>`
    select kind || '/' || name as entry from stack_resources where project_id = ${member.projectId} and stack = 'net' order by 1`).map((r) => r.entry);
  return { networks, subnets, ports, rules, owned };
}

const CREATES = [
  '+ network/net-1', '+ subnet/a', '+ subnet/b', '+ security-group/web', '+ security-group/db',
  '+ security-group-rule/web (ingress IPv4 tcp port 80 from 0.0.0.0/0)', '+ security-group-rule/web (egress IPv4 any to anywhere)',
  '+ security-group-rule/db (ingress IPv4 tcp port 5432 from group web)', '+ security-group-rule/db (egress IPv6 any to anywhere)',
  '+ instance/app-1',
];

describe('orrery plan / apply with networks, subnets and security groups', () => {
  it('plans the network, its subnets, the groups, then their rules, then the instance on the network, and writes nothing', async () => {
    const r = await orrery('plan', '-f', await writeStack('net.yaml', stack()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(lines(r.stdout)).toEqual([...CREATES, 'Plan: 10 to create, 0 to change, 0 to replace, 0 to delete.']);
    const w = await world();
    expect([w.networks, w.subnets, w.rules, w.owned]).toEqual([[], [], [], []]);
  });

  it('applies it in that order: the groups hold exactly the rules listed, and the instance gets its port on the network', async () => {
    const r = await orrery('apply', '-f', await writeStack('net.yaml', stack()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const made = lines(r.stdout).filter((l) => / (created|added)/.test(l)).map((l) => l.replace(/ \(id .*\)$/, ''));
    expect(made).toEqual([
      'network/net-1 created', 'subnet/a created', 'subnet/b created', 'security-group/web created', 'security-group/db created',
      'security-group-rule/web added (ingress IPv4 tcp port 80 from 0.0.0.0/0)', 'security-group-rule/web added (egress IPv4 any to anywhere)',
      'security-group-rule/db added (ingress IPv4 tcp port 5432 from group web)', 'security-group-rule/db added (egress IPv6 any to anywhere)',
      'instance/app-1 created',
    ]);
    expect(r.stdout).toMatch(/^instance app-1: ACTIVE$/m);
    const w = await world();
    expect(w.networks).toEqual([{ id: expect.any(String), name: 'net-1', mtu: 1400, segment_type: 'vxlan' }]);
    expect(w.subnets).toEqual([
      { id: expect.any(String), name: 'a', cidr: '10.20.0.0/24', gateway: '10.20.0.1', dhcp_enabled: true, dns: ['10.20.0.53'],
        host_routes: [{ destination: '10.99.0.0/16', nexthop: '10.20.0.254' }], pools: ['10.20.0.10-10.20.0.100'] },
      { id: expect.any(String), name: 'b', cidr: '10.21.0.0/24', gateway: '10.21.0.254', dhcp_enabled: false, dns: [], host_routes: [], pools: ['10.21.0.1-10.21.0.253'] },
    ]);
    // The DHCP server took the pool's first address; the instance the next.
    expect(w.ports).toEqual([{ instance: 'app-1', network: 'net-1', subnet: 'a', ip: '10.20.0.11' }]);
    const rule = (group: string, direction: string, ethertype: string, over: object = {}) => ({
      group, id: expect.any(String), direction, ethertype, protocol: null, port_min: null, port_max: null, remote_cidr: null, remote_group: null, ...over,
    });
    expect(w.rules).toEqual([
      rule('db', 'egress', 'IPv6'),
      rule('db', 'ingress', 'IPv4', { protocol: 'tcp', port_min: 5432, port_max: 5432, remote_group: 'web' }),
      rule('web', 'egress', 'IPv4'),
      rule('web', 'ingress', 'IPv4', { protocol: 'tcp', port_min: 80, port_max: 80, remote_cidr: '0.0.0.0/0' }),
    ]);
    expect(w.owned).toEqual(['instance/app-1', 'network/net-1', 'securityGroup/db', 'securityGroup/web', 'subnet/a', 'subnet/b']);
  });

  it('finds nothing to do the second time, defaults spelled out or not', async () => {
    const spelled = stack({ subnets: [{ ...SUBNET_A, gatewayIp: '10.20.0.1', dhcpEnabled: true }, SUBNET_B] });
    const plan = await orrery('plan', '-f', await writeStack('net.yaml', spelled));
    expect([plan.code, plan.stdout]).toEqual([0, 'No changes: stack net matches the file.\n']);
  });

  it("replaces a subnet whose cidr changed, and leaves the network, the other subnet and the instance's port alone", async () => {
    const before = await world();
    const file = await writeStack('net.yaml', stack({ subnets: [SUBNET_A, SUBNET_B2] }));
    const plan = await orrery('plan', '-f', file);
    expect(plan.code).toBe(2);
    expect(lines(plan.stdout)).toEqual([
      '-/+ subnet/b (cidr: 10.21.0.0/24 → 10.22.0.0/24; gatewayIp: 10.21.0.254 → 10.22.0.254; allocationPools: [{first=10.21.0.1, last=10.21.0.253}] → [{first=10.22.0.1, last=10.22.0.253}])',
      'Plan: 0 to create, 0 to change, 1 to replace, 0 to delete.',
    ]);
    const apply = await orrery('apply', '-f', file);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const after = await world();
    expect(after.networks).toEqual(before.networks);
    expect(after.subnets[0]).toEqual(before.subnets[0]);
    expect(after.subnets[1]).toMatchObject({ name: 'b', cidr: '10.22.0.0/24', gateway: '10.22.0.254' });
    expect(after.subnets[1]!.id).not.toBe(before.subnets[1]!.id);
    expect(after.ports).toEqual(before.ports);
    expect((await orrery('plan', '-f', file)).code).toBe(0);
  });

  it('refuses to replace a subnet an instance has its address in, naming the instance, and changes nothing', async () => {
    const before = await world();
    const file = await writeStack('net.yaml', stack({ subnets: [{ ...SUBNET_A, dnsServers: ['10.20.0.54'] }, SUBNET_B2] }));
    const r = await orrery('apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/net\.yaml:\d+: subnets\[0\]: subnet a must be replaced \(dnsServers\) but is in use \(instance app-1\); the API deletes no subnet in use: delete what uses it first$/m);
    expect(await world()).toEqual(before);
  });

  it('plans a changed rule as one rule added and one removed, and apply changes only that rule', async () => {
    const before = await world();
    const https = { ...HTTP, portMin: 443, portMax: 443 };
    const file = await writeStack('net.yaml', stack({ subnets: [SUBNET_A, SUBNET_B2], securityGroups: [{ ...WEB, rules: [https, WEB.rules[1]] }, DB] }));
    const plan = await orrery('plan', '-f', file);
    expect(plan.code).toBe(2);
    expect(lines(plan.stdout)).toEqual([
      '+ security-group-rule/web (ingress IPv4 tcp port 443 from 0.0.0.0/0)',
      '- security-group-rule/web (ingress IPv4 tcp port 80 from 0.0.0.0/0)',
      'Plan: 1 to create, 0 to change, 0 to replace, 1 to delete.',
    ]);
    const apply = await orrery('apply', '-f', file);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const after = await world();
    const http = before.rules.find((r) => r.port_min === 80)!;
    expect(after.rules).toEqual(before.rules.map((r) => (r.id === http.id ? { ...r, id: expect.any(String), port_min: 443, port_max: 443 } : r)));
    expect(after.rules.map((r) => r.id)).not.toContain(http.id);
    expect([after.networks, after.subnets, after.ports]).toEqual([before.networks, before.subnets, before.ports]);
    expect((await orrery('plan', '-f', file)).code).toBe(0);
  });

  it('refuses bad references and addresses, naming file:line and field, and changes nothing', async () => {
    const before = await world();
    const file = await writeStack('bad.yaml', stack({
      subnets: [SUBNET_A, { ...SUBNET_B2, gatewayIp: '10.23.0.1' }, { name: 'c', network: 'net-9', cidr: '10.30.0.0/24' }, { name: 'd', network: 'net-1', cidr: '10.20.0.128/25' }],
      securityGroups: [{ ...WEB, rules: [HTTP, { ...HTTP, remoteCidr: '10.0.0.1/24' }, HTTP] }, { ...DB, rules: [{ direction: 'ingress', remoteGroup: 'nope' }] }],
      instances: [{ ...APP, networks: [{ network: 'nowhere' }] }],
    }));
    const r = await orrery('plan', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: subnets\[1\]\.gatewayIp: gateway 10\.23\.0\.1 is outside 10\.22\.0\.0\/24$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: subnets\[2\]\.network: network "net-9" not found \(neither in the file nor in your project\)$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: subnets\[3\]\.cidr: overlaps subnets\[0\] \(10\.20\.0\.0\/24\) in network net-1$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: instances\[0\]\.networks\[0\]\.network: network "nowhere" not found \(neither in the file nor visible to you\)$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: securityGroups\[0\]\.rules\[1\]\.remoteCidr: has host bits set \(did you mean 10\.0\.0\.0\/24\?\)$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: securityGroups\[0\]\.rules\[2\]: repeats rules\[0\] \(ingress IPv4 tcp port 80 from 0\.0\.0\.0\/0\)$/m);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: securityGroups\[1\]\.rules\[0\]\.remoteGroup: security group "nope" not found \(neither in the file nor in your project\)$/m);
    expect(await world()).toEqual(before);
  });

  it('prunes in reverse order: the instance, then the groups, then the subnets, then the network', async () => {
    const file = await writeStack('empty.yaml', { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 'net' } });
    const plan = await orrery('plan', '-f', file, '--prune');
    expect(lines(plan.stdout)).toEqual([
      '- network/net-1', '- subnet/a', '- subnet/b', '- security-group/db', '- security-group/web', '- instance/app-1',
      'Plan: 0 to create, 0 to change, 0 to replace, 6 to delete.',
    ]);
    const r = await orrery('apply', '-f', file, '--prune');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = lines(r.stdout).filter((l) => /deleted$/.test(l));
    expect(done).toEqual(['instance app-1: deleted', 'security-group/db deleted', 'security-group/web deleted', 'subnet/a deleted', 'subnet/b deleted', 'network/net-1 deleted']);
    const w = await world();
    expect([w.networks, w.subnets, w.ports, w.rules, w.owned]).toEqual([[], [], [], [], []]);
    expect((await tcp.db.sql`select name from security_groups where project_id = ${member.projectId}`).map((g) => g.name)).toEqual(['default']);
  });
});
