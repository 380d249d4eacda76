/**
 * What networks cost on the agent's hot path: agentView (read for a host after every change of
 * its assignments) for every host of one fleet, with and without ports, in one run on one
 * database. The fleet is H hosts with I instances spread evenly, inserted by SQL:
 *
 *   (a) instances without ports (the baseline);
 *   (b) one port each on one project's network, in the project's `default` group, whose ingress
 *       rules name the group itself: each port's rules list the address of every member;
 *   (c) the same spread over 10 projects, each with its own network and `default` group.
 *
 *   npm run bench:agent-view [-- --hosts 200 --instances 4000 --samples 200]
 *
 * Each host's view is read one at a time, after 10 warm-up reads; --samples reads that many hosts
 * (default all). Per host, in turn: agentView (the real path: its three statements side by side),
 * then its network statement alone as it is (agentNetworkView) and as it was before remote groups
 * were resolved once per view (a copy, below), each checked to read the same networks.
 * DATABASE_URL (a server where it may create and drop a database named orrery_bench_agent_view)
 * replaces the embedded PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bridgeName, tapName, type HostNetwork, type HostPort } from '../core/host-network.ts';
import { connect, type Sql } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import { agentNetworkView } from '../store/agent-network-view.ts';
import { agentView } from '../store/agent-view.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { benchPostgres, dropDatabase, freshDatabase } from './fleet-db.ts';
import { median, percentile, printTable } from './stats.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive whole number`);
  return n;
}

const HOSTS = option('--hosts', 200);
const INSTANCES = option('--instances', 4000);
const SAMPLES = Math.min(HOSTS, option('--samples', HOSTS));
const WARMUP = 10;
const DB = 'orrery_bench_agent_view';

interface Scenario {
  name: string;
  /** Projects with a network each; 0: no ports at all. */
  projects: number;
}

const SCENARIOS: Scenario[] = [
  { name: '(a) no ports', projects: 0 },
  { name: '(b) 1 project network, default group', projects: 1 },
  { name: '(c) 10 project networks, default groups', projects: 10 },
];

/** Hosts with tunnel addresses, one flavor and image, and 10 projects for the networks. */
async function seedFleet(sql: Sql): Promise<{ userId: string; flavorId: string; imageId: string; projectIds: string[] }> {
  const admin = await bootstrapAdmin(sql);
  await sql`
    insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, hypervisor_type, hypervisor_version, architecture, tunnel_address)
    select 'h-' || lpad(g::text, 6, '0'), 256, 1048576, 10000, now(), 'fake', '1.0', 'x86_64', '172.16.0.0'::inet + g
      from generate_series(1, ${HOSTS}) g`;
  const [f] = await sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('n.small', 1, 512, 1) returning id`;
  const [img] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const projects = await sql<{ id: string }[]>`
    insert into projects (name) select 'net-' || lpad(g::text, 2, '0') from generate_series(1, 10) g returning id`;
  return { userId: admin.userId, flavorId: f!.id, imageId: img!.id, projectIds: projects.map((p) => p.id).sort() };
}

/**
 * One scenario's instances, bound round robin to the hosts (ordered by name), with what
 * createInstances and ensureDefaultGroup would have written for them: per project a VXLAN network
 * with a /16 subnet, its service port (gateway .1, DHCP .2), the default group with Neutron's four
 * rules, and per instance a port with the next address, in that group.
 */
async function seedScenario(sql: Sql, fleet: Awaited<ReturnType<typeof seedFleet>>, s: Scenario): Promise<void> {
  await sql`truncate instances, networks, security_groups cascade`;
  const projects = s.projects === 0 ? fleet.projectIds.slice(0, 1) : fleet.projectIds.slice(0, s.projects);
  await sql`
    with h as (select id, row_number() over (order by name) - 1 as k from hosts)
    insert into instances (project_id, user_id, name, flavor_id, image_id, host_id, vm_state, task_state, power_state)
    select (${projects}::uuid[])[1 + g % ${projects.length}], ${fleet.userId}, 'i-' || g, ${fleet.flavorId}, ${fleet.imageId},
           h.id, 'active', null, 'running'
      from generate_series(0, ${INSTANCES - 1}) g join h on h.k = g % ${HOSTS}`;
  if (s.projects > 0) {
    await sql`
      insert into networks (project_id, name, segment_type, vni, mtu)
      select p, 'net', 'vxlan', k, 1450 from unnest(${projects}::uuid[]) with ordinality as x(p, k)`;
    await sql`
      insert into subnets (network_id, ip_version, cidr, gateway_ip)
      select n.id, 4, ('10.' || n.vni || '.0.0/16')::cidr, ('10.' || n.vni || '.0.1')::inet from networks n`;
    await sql`
      insert into ports (network_id, project_id, mac, device_owner)
      select n.id, n.project_id, '02:00:00:00:00:01', 'network:service' from networks n`;
    await sql`
      insert into port_ips (port_id, subnet_id, ip)
      select p.id, s.id, s.gateway_ip + 1 from ports p join subnets s on s.network_id = p.network_id`;
    await sql`
      insert into security_groups (project_id, name, description)
      select p, 'default', 'Default security group' from unnest(${projects}::uuid[]) p`;
    await sql`
      insert into security_group_rules (group_id, direction, ethertype, remote_group_id)
      select g.id, r.direction, r.ethertype, case when r.direction = 'ingress' then g.id end
        from security_groups g,
             (values ('egress', 'IPv4'), ('egress', 'IPv6'), ('ingress', 'IPv4'), ('ingress', 'IPv6')) r(direction, ethertype)`;
    // Instance k of a project gets that project's address .3 + k, and a MAC from its number.
    await sql`
      with i as (select id, project_id, row_number() over (partition by project_id order by name) - 1 as k,
                        row_number() over (order by id) as g from instances)
      insert into ports (network_id, project_id, mac, instance_id, device_owner, created_by_instance)
      select n.id, i.project_id, ('06' || lpad(to_hex(i.g), 10, '0'))::macaddr, i.id, 'compute', true
        from i join networks n on n.project_id = i.project_id`;
    await sql`
      with p as (select p.id, p.network_id, row_number() over (partition by p.network_id order by p.id) - 1 as k
                   from ports p where p.device_owner = 'compute')
      insert into port_ips (port_id, subnet_id, ip)
      select p.id, s.id, s.gateway_ip + 2 + p.k from p join subnets s on s.network_id = p.network_id`;
    await sql`
      insert into port_security_groups (port_id, group_id)
      select p.id, g.id from ports p join security_groups g on g.project_id = p.project_id and g.name = 'default'
       where p.device_owner = 'compute'`;
  }
  await sql`analyze`;
}

interface Measured {
  ms: number[];
  /** The network statement alone: now, and the per-port copy of before. */
  networksMs: number[];
  beforeMs: number[];
  /** JSON text of the view's networks, in bytes (what GraphQL sends and the watch compares). */
  bytes: number[];
  /** Remote addresses listed over all rules of all ports of the view. */
  cidrs: number[];
  ports: number[];
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

async function measure(sql: Sql, hostIds: string[]): Promise<Measured> {
  const m: Measured = { ms: [], networksMs: [], beforeMs: [], bytes: [], cidrs: [], ports: [] };
  for (const id of hostIds.slice(0, WARMUP)) await Promise.all([agentView(sql, id), perPortNetworkView(sql, id)]);
  for (const id of hostIds.slice(0, SAMPLES)) {
    const [view, ms] = await timed(() => agentView(sql, id));
    const [now, nowMs] = await timed(() => agentNetworkView(sql, id));
    const [before, beforeMs] = await timed(() => perPortNetworkView(sql, id));
    const text = JSON.stringify(view.networks);
    if (JSON.stringify(now) !== text || JSON.stringify(before) !== text) throw new Error(`host ${id}: the network statements read different views`);
    m.ms.push(ms);
    m.networksMs.push(nowMs);
    m.beforeMs.push(beforeMs);
    m.bytes.push(text.length);
    const ports = view.networks.flatMap((n) => n.ports);
    m.ports.push(ports.length);
    m.cidrs.push(ports.reduce((sum, p) => sum + p.rules.reduce((s, r) => s + (r.remoteCidrs?.length ?? 0), 0), 0));
  }
  return m;
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const kib = (x: number) => (x / 1024).toFixed(x < 10240 ? 1 : 0);

async function main() {
  const work = await mkdtemp(path.join(os.tmpdir(), 'orrery-bench-agent-view-'));
  let stopDb = async () => {};
  let baseUrl: string | undefined;
  try {
    const server = await benchPostgres(work);
    stopDb = server.stop;
    baseUrl = server.baseUrl;
    console.log(`agentView per host: ${HOSTS} hosts × ${INSTANCES} instances (${INSTANCES / HOSTS} per host), ` +
      `${SAMPLES} hosts read per scenario; ${os.cpus().length} cores, Node ${process.version}; ` +
      `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const url = await freshDatabase(baseUrl, DB);
    await installSchema(url);
    // As many connections as agentView runs statements side by side.
    const sql = connect(url, { max: 3 });
    try {
      const fleet = await seedFleet(sql);
      const hostIds = (await sql<{ id: string }[]>`select id from hosts order by random()`).map((h) => h.id);
      const results: Measured[] = [];
      for (const s of SCENARIOS) {
        const t = performance.now();
        await seedScenario(sql, fleet, s);
        process.stdout.write(`${s.name}: seeded in ${((performance.now() - t) / 1000).toFixed(1)} s, `);
        const r = await measure(sql, hostIds);
        console.log(`read ${SAMPLES} views; load average ${os.loadavg()[0]!.toFixed(1)}`);
        results.push(r);
      }
      const base = median(results[0]!.ms);
      printTable(`agentView per host, ${HOSTS} hosts × ${INSTANCES} instances (ms; ratio: median ÷ median of (a))`, [
        ['scenario', 'ports/host', 'remote addrs/view', 'networks JSON KiB', 'median ms', 'p95 ms', 'ratio'],
        ...SCENARIOS.map((s, i) => {
          const r = results[i]!;
          return [s.name, String(median(r.ports)), String(median(r.cidrs)), kib(median(r.bytes)),
            ms(median(r.ms)), ms(percentile(r.ms, 95)), `${(median(r.ms) / base).toFixed(1)}×`];
        }),
      ]);
      printTable('Its network statement alone (ms): before (remote groups resolved per rule of every port) and now (once per view)', [
        ['scenario', 'before median', 'before p95', 'now median', 'now p95', 'before ÷ now'],
        ...SCENARIOS.map((s, i) => {
          const r = results[i]!;
          return [s.name, ms(median(r.beforeMs)), ms(percentile(r.beforeMs, 95)), ms(median(r.networksMs)),
            ms(percentile(r.networksMs, 95)), `${(median(r.beforeMs) / median(r.networksMs)).toFixed(1)}×`];
        }),
      ]);
      console.log(`\nLoad average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    } finally {
      await sql.end();
    }
  } finally {
    if (baseUrl) await dropDatabase(baseUrl, DB).catch(() => {});
    await stopDb();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Before: store/agent-network-view.ts as of ad3ebb1, which resolved a remote group's members in
 * every rule of every port (the host's ports × the group's members). Kept to measure the change
 * against in the same run, and to check that both read the same view.
 */
interface BeforePart extends Omit<HostNetwork, 'segment' | 'ports' | 'floatingIps'> {
  segment_type: 'vxlan' | 'bridge';
  vni: number | null;
  provider_bridge: string | null;
  ports: Omit<HostPort, 'tap'>[];
  floating: { address: string; fixedIp: string; segment_type: 'vxlan' | 'bridge'; vni: number | null; provider_bridge: string | null;
              externalPrefixLength: number; externalGateway: string | null }[];
}

const segmentOf = (r: { segment_type: 'vxlan' | 'bridge'; vni: number | null; provider_bridge: string | null }) =>
  r.segment_type === 'vxlan' ? { kind: 'vxlan' as const, vni: r.vni! } : { kind: 'bridge' as const, bridge: r.provider_bridge! };

async function perPortNetworkView(sql: Sql, hostId: string): Promise<HostNetwork[]> {
  const rows = await sql<BeforePart[]>`
    with here as (
      select id from instances where host_id = ${hostId}
      union
      select instance_id from migrations
       where dest_host_id = ${hostId} and kind = 'live-migration' and status in ('preparing', 'prepared', 'running')
    ), host_ports as (
      select * from ports where instance_id in (select id from here)
    )
    select n.id, n.name, n.segment_type, n.vni, n.provider_bridge, n.mtu,
           array(select distinct host(h.tunnel_address) from hosts h
                  where h.id in (select network_hosts(array[n.id])) and h.id <> ${hostId} and h.tunnel_address is not null
                  order by 1) as peers,
           coalesce((select json_agg(json_build_object(
                       'id', s.id, 'cidr', s.cidr::text, 'ipVersion', s.ip_version, 'gatewayIp', host(s.gateway_ip),
                       'dhcpServerIp', case when s.dhcp_enabled then (
                          select host(pi.ip) from port_ips pi join ports sp on sp.id = pi.port_id
                           where pi.subnet_id = s.id and sp.device_owner = 'network:service' order by pi.ip limit 1) end,
                       'dnsServers', array(select host(d) from unnest(s.dns_servers) d),
                       'hostRoutes', s.host_routes) order by s.created_at, s.id)
                       from subnets s where s.network_id = n.id), '[]') as subnets,
           (select json_build_object('mac', sp.mac::text, 'addresses', coalesce((
                     select json_agg(a order by a->>'subnetId', a->>'ip') from (
                       select json_build_object('subnetId', pi.subnet_id, 'ip', host(pi.ip)) as a from port_ips pi where pi.port_id = sp.id
                       union all
                       select json_build_object('subnetId', s.id, 'ip', host(s.gateway_ip)) from subnets s
                        where s.network_id = n.id and s.gateway_ip is not null) x), '[]'))
              from ports sp where sp.network_id = n.id and sp.device_owner = 'network:service') as service,
           coalesce((select json_agg(json_build_object(
                       'id', p.id, 'instanceId', p.instance_id, 'mac', p.mac::text, 'portSecurity', p.port_security,
                       'fixedIps', coalesce((select json_agg(json_build_object('subnetId', pi.subnet_id, 'ip', host(pi.ip)) order by pi.ip)
                                               from port_ips pi where pi.port_id = p.id), '[]'),
                       'rules', coalesce((select json_agg(json_build_object(
                                   'direction', r.direction, 'ethertype', r.ethertype, 'protocol', r.protocol,
                                   'portMin', r.port_min, 'portMax', r.port_max,
                                   'remoteCidrs', case
                                     when r.remote_cidr is not null then json_build_array(r.remote_cidr::text)
                                     -- Every address of every member of the remote group, on any host, as a host route.
                                     when r.remote_group_id is not null then coalesce((
                                       select json_agg(m.cidr order by m.cidr) from (
                                         select distinct host(mi.ip) || case when family(mi.ip) = 4 then '/32' else '/128' end as cidr
                                           from port_security_groups mg join port_ips mi on mi.port_id = mg.port_id
                                          where mg.group_id = r.remote_group_id
                                            and family(mi.ip) = case r.ethertype when 'IPv4' then 4 else 6 end) m), '[]')
                                   end) order by r.group_id, r.created_at, r.id)
                                   from port_security_groups psg join security_group_rules r on r.group_id = psg.group_id
                                  where psg.port_id = p.id), '[]')) order by p.id)
                       from host_ports p where p.network_id = n.id), '[]') as ports,
           coalesce((select json_agg(json_build_object(
                       'address', host(f.address), 'fixedIp', host(f.fixed_ip), 'segment_type', en.segment_type, 'vni', en.vni,
                       'provider_bridge', en.provider_bridge, 'externalPrefixLength', masklen(es.cidr), 'externalGateway', host(es.gateway_ip))
                       order by f.address)
                       from floating_ips f join networks en on en.id = f.network_id join subnets es on es.id = f.subnet_id
                      where f.port_id in (select id from host_ports where network_id = n.id)), '[]') as floating
      from networks n
     where n.id in (select network_id from host_ports)
     order by n.id`;
  return rows.map((r) => ({
    id: r.id, name: r.name, segment: segmentOf(r), mtu: r.mtu, peers: r.peers, subnets: r.subnets,
    service: r.service ?? { mac: '', addresses: [] },
    ports: r.ports.map((p) => ({ ...p, tap: tapName(p.id) })),
    floatingIps: r.floating.map((f) => ({
      address: f.address, fixedIp: f.fixedIp, externalBridge: bridgeName(segmentOf(f)),
      externalPrefixLength: f.externalPrefixLength, externalGateway: f.externalGateway,
    })),
  }));
}

await main();
