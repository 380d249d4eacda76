import { bridgeName, tapName, type HostNetwork, type HostPort, type HostRule } from '../core/host-network.ts';
import type { Sql } from '../db/connect.ts';

/** A rule as read: a remote-group rule names its members' list (`<group id> <ethertype>`) instead of listing them. */
interface RulePart extends HostRule {
  remoteGroup: string | null;
}

interface NetworkPart extends Omit<HostNetwork, 'segment' | 'ports' | 'floatingIps'> {
  segment_type: 'vxlan' | 'bridge';
  vni: number | null;
  provider_bridge: string | null;
  ports: (Omit<HostPort, 'tap' | 'rules'> & { rules: RulePart[] })[];
  /**
   * The members' addresses of every remote group the rules of the statement's ports name, by
   * `<group id> <ethertype>`: on its first row only (null on the others), as the lists are the same
   * for every host.
   */
  members: Record<string, string[]> | null;
  floating: { address: string; fixedIp: string; segment_type: 'vxlan' | 'bridge'; vni: number | null; provider_bridge: string | null;
              externalPrefixLength: number; externalGateway: string | null }[];
}

const segmentOf = (r: { segment_type: 'vxlan' | 'bridge'; vni: number | null; provider_bridge: string | null }) =>
  r.segment_type === 'vxlan' ? { kind: 'vxlan' as const, vni: r.vni! } : { kind: 'bridge' as const, bridge: r.provider_bridge! };

/** A group without members of the rule's ethertype allows no one: an empty list, not null (anyone). */
function resolved({ remoteGroup, ...rule }: RulePart, members: Record<string, string[]>): HostRule {
  return remoteGroup === null ? rule : { ...rule, remoteCidrs: members[remoteGroup] ?? [] };
}

/**
 * The networks one host must plumb (core/host-network.ts): those of the ports of instances bound
 * to it or arriving by live migration, with only what this host needs of the others: their tunnel
 * addresses, and the addresses of remote security-group members. Ordered throughout, so an
 * unchanged network reads the same (the watch compares views as text).
 */
export async function agentNetworkView(sql: Sql, hostId: string): Promise<HostNetwork[]> {
  return (await agentNetworkViews(sql, [hostId])).get(hostId)!;
}

/**
 * `agentNetworkView` of many hosts in one statement (the watch's reads, batched: server/agent-view-reads.ts).
 * Every host requested has an entry (by its id as PostgreSQL writes it), empty when it carries no network.
 *
 * A remote group's members are resolved once per statement, not once per rule of every port: with
 * the project's `default` group (ingress from its own members) every port names the same list, and
 * resolving it per port cost the ports × the group's members, in the database and as JSON text to
 * parse (bench/agent-view-networks.ts). The rules of all ports of all hosts read share one array
 * per group and ethertype: consumers read it, none may change it.
 *
 * What every host of a network sees alike (subnets, service port, the hosts carrying it) is read
 * once per network, however many of the hosts asked for carry it; what is a host's own (its ports
 * and their floating IPs) is aggregated per host and network.
 */
export async function agentNetworkViews(sql: Sql, hostIds: string[]): Promise<Map<string, HostNetwork[]>> {
  const rows = await sql<(NetworkPart & { host_id: string })[]>`
    with here as (
      select host_id, id as instance_id from instances where host_id = any(${hostIds}::uuid[])
      union
      select dest_host_id, instance_id from migrations
       where dest_host_id = any(${hostIds}::uuid[]) and kind = 'live-migration' and status in ('preparing', 'prepared', 'running')
    ), host_ports as (
      -- By an array: the planner then looks the hosts' few ports up by index instead of hashing every port's row.
      -- Joined back to the hosts: an instance migrating live is here on its source and its destination.
      select x.host_id, p.id, p.network_id, p.instance_id, p.device_index, p.mac, p.port_security
        from ports p join here x on x.instance_id = p.instance_id
       where p.instance_id = any(array(select instance_id from here))
    ), remote as (
      select distinct r.remote_group_id as group_id
        from host_ports p join port_security_groups psg on psg.port_id = p.id
        join security_group_rules r on r.group_id = psg.group_id
       where r.remote_group_id is not null
    ), members as materialized (
      -- Every address of every member of the group, on any host, as a host route: once, for every network and host here.
      select m.group_id, m.ethertype, json_agg(distinct m.cidr order by m.cidr) as cidrs
        from (select mg.group_id, case family(mi.ip) when 4 then 'IPv4' else 'IPv6' end as ethertype,
                     host(mi.ip) || case when family(mi.ip) = 4 then '/32' else '/128' end as cidr
                from port_security_groups mg join port_ips mi on mi.port_id = mg.port_id
               where mg.group_id = any(array(select group_id from remote))) m
       group by m.group_id, m.ethertype
    ), nets as materialized (
      select n.id, n.name, n.segment_type, n.vni, n.provider_bridge, n.mtu,
             c.ids as carrier_ids, c.addresses as carrier_addresses,
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
                from ports sp where sp.network_id = n.id and sp.device_owner = 'network:service') as service
        from networks n
       -- The hosts carrying it with a tunnel address; each host's peers are these but itself.
       cross join lateral (select array_agg(h.id) as ids, array_agg(host(h.tunnel_address)) as addresses from hosts h
                            where h.id in (select network_hosts(array[n.id])) and h.tunnel_address is not null) c
       where n.id in (select network_id from host_ports)
    ), own_ports as (
      select p.host_id, p.network_id, json_agg(json_build_object(
               'id', p.id, 'instanceId', p.instance_id, 'deviceIndex', p.device_index, 'mac', p.mac::text, 'portSecurity', p.port_security,
               'fixedIps', coalesce((select json_agg(json_build_object('subnetId', pi.subnet_id, 'ip', host(pi.ip)) order by pi.ip)
                                       from port_ips pi where pi.port_id = p.id), '[]'),
               'rules', coalesce((select json_agg(json_build_object(
                           'direction', r.direction, 'ethertype', r.ethertype, 'protocol', r.protocol,
                           'portMin', r.port_min, 'portMax', r.port_max,
                           'remoteCidrs', case when r.remote_cidr is not null then json_build_array(r.remote_cidr::text) end,
                           'remoteGroup', r.remote_group_id || ' ' || r.ethertype) order by r.group_id, r.created_at, r.id)
                           from port_security_groups psg join security_group_rules r on r.group_id = psg.group_id
                          where psg.port_id = p.id), '[]')) order by p.id) as ports
        from host_ports p group by p.host_id, p.network_id
    ), own_floating as materialized (
      -- Aggregated once: not knowing how many rows the CTEs above hold, the planner may otherwise join
      -- by nested loop and aggregate again for every host's network.
      select p.host_id, p.network_id, json_agg(json_build_object(
               'address', host(f.address), 'fixedIp', host(f.fixed_ip), 'segment_type', en.segment_type, 'vni', en.vni,
               'provider_bridge', en.provider_bridge, 'externalPrefixLength', masklen(es.cidr), 'externalGateway', host(es.gateway_ip))
               order by f.address) as floating
        from host_ports p join floating_ips f on f.port_id = p.id
        join networks en on en.id = f.network_id join subnets es on es.id = f.subnet_id
       group by p.host_id, p.network_id
    )
    select o.host_id, n.id, n.name, n.segment_type, n.vni, n.provider_bridge, n.mtu,
           array(select distinct c.address from unnest(n.carrier_ids, n.carrier_addresses) c(id, address)
                  where c.id <> o.host_id order by 1) as peers,
           n.subnets, n.service, o.ports, coalesce(f.floating, '[]') as floating,
           -- Sent once, not with every host's network: a default group's list can be thousands of addresses.
           case when row_number() over (order by o.host_id, n.id) = 1 then
             (select coalesce(json_object_agg(m.group_id || ' ' || m.ethertype, m.cidrs), '{}') from members m) end as members
      from own_ports o join nets n on n.id = o.network_id
      left join own_floating f on f.host_id = o.host_id and f.network_id = o.network_id
     order by o.host_id, n.id`;
  const members = rows.find((r) => r.members !== null)?.members ?? {};
  const views = new Map<string, HostNetwork[]>(hostIds.map((id) => [id, []]));
  for (const r of rows) views.get(r.host_id)?.push(network(r, members));
  return views;
}

function network(r: NetworkPart, members: Record<string, string[]>): HostNetwork {
  return {
    id: r.id,
    name: r.name,
    segment: segmentOf(r),
    mtu: r.mtu,
    peers: r.peers,
    subnets: r.subnets,
    service: r.service ?? { mac: '', addresses: [] },
    ports: r.ports.map((p) => ({ ...p, tap: tapName(p.id), rules: p.rules.map((rule) => resolved(rule, members)) })),
    floatingIps: r.floating.map((f) => ({
      address: f.address,
      fixedIp: f.fixedIp,
      externalBridge: bridgeName(segmentOf(f)),
      externalPrefixLength: f.externalPrefixLength,
      externalGateway: f.externalGateway,
    })),
  };
}
