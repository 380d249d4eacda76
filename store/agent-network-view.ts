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
  /** The members' addresses of every remote group this network's ports' rules name, by `<group id> <ethertype>`. */
  remote_members: Record<string, string[]>;
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
 *
 * A remote group's members are resolved once per view, not once per rule of every port: with the
 * project's `default` group (ingress from its own members) every port of the host names the same
 * list, and resolving it per port cost the host's ports × the group's members, in the database and
 * as JSON text to parse (bench/agent-view-networks.ts). The ports' rules share one array per
 * group and ethertype: consumers read it, none may change it.
 */
export async function agentNetworkView(sql: Sql, hostId: string): Promise<HostNetwork[]> {
  const rows = await sql<NetworkPart[]>`
    with here as (
      select id from instances where host_id = ${hostId}
      union
      select instance_id from migrations
       where dest_host_id = ${hostId} and kind = 'live-migration' and status in ('preparing', 'prepared', 'running')
    ), host_ports as (
      -- As an array: the planner then looks the host's few ports up by index instead of hashing every port's row.
      select * from ports where instance_id = any(array(select id from here))
    ), remote as (
      select distinct p.network_id, r.remote_group_id as group_id
        from host_ports p join port_security_groups psg on psg.port_id = p.id
        join security_group_rules r on r.group_id = psg.group_id
       where r.remote_group_id is not null
    ), members as materialized (
      -- Every address of every member of the group, on any host, as a host route: once, for every network here.
      select m.group_id, m.ethertype, json_agg(distinct m.cidr order by m.cidr) as cidrs
        from (select mg.group_id, case family(mi.ip) when 4 then 'IPv4' else 'IPv6' end as ethertype,
                     host(mi.ip) || case when family(mi.ip) = 4 then '/32' else '/128' end as cidr
                from port_security_groups mg join port_ips mi on mi.port_id = mg.port_id
               where mg.group_id = any(array(select group_id from remote))) m
       group by m.group_id, m.ethertype
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
                       'id', p.id, 'instanceId', p.instance_id, 'deviceIndex', p.device_index, 'mac', p.mac::text, 'portSecurity', p.port_security,
                       'fixedIps', coalesce((select json_agg(json_build_object('subnetId', pi.subnet_id, 'ip', host(pi.ip)) order by pi.ip)
                                               from port_ips pi where pi.port_id = p.id), '[]'),
                       'rules', coalesce((select json_agg(json_build_object(
                                   'direction', r.direction, 'ethertype', r.ethertype, 'protocol', r.protocol,
                                   'portMin', r.port_min, 'portMax', r.port_max,
                                   'remoteCidrs', case when r.remote_cidr is not null then json_build_array(r.remote_cidr::text) end,
                                   'remoteGroup', r.remote_group_id || ' ' || r.ethertype) order by r.group_id, r.created_at, r.id)
                                   from port_security_groups psg join security_group_rules r on r.group_id = psg.group_id
                                  where psg.port_id = p.id), '[]')) order by p.id)
                       from host_ports p where p.network_id = n.id), '[]') as ports,
           coalesce((select json_agg(json_build_object(
                       'address', host(f.address), 'fixedIp', host(f.fixed_ip), 'segment_type', en.segment_type, 'vni', en.vni,
                       'provider_bridge', en.provider_bridge, 'externalPrefixLength', masklen(es.cidr), 'externalGateway', host(es.gateway_ip))
                       order by f.address)
                       from floating_ips f join networks en on en.id = f.network_id join subnets es on es.id = f.subnet_id
                      where f.port_id in (select id from host_ports where network_id = n.id)), '[]') as floating,
           coalesce((select json_object_agg(m.group_id || ' ' || m.ethertype, m.cidrs)
                       from members m join remote x on x.group_id = m.group_id where x.network_id = n.id), '{}') as remote_members
      from networks n
     where n.id in (select network_id from host_ports)
     order by n.id`;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    segment: segmentOf(r),
    mtu: r.mtu,
    peers: r.peers,
    subnets: r.subnets,
    service: r.service ?? { mac: '', addresses: [] },
    ports: r.ports.map((p) => ({ ...p, tap: tapName(p.id), rules: p.rules.map((rule) => resolved(rule, r.remote_members)) })),
    floatingIps: r.floating.map((f) => ({
      address: f.address,
      fixedIp: f.fixedIp,
      externalBridge: bridgeName(segmentOf(f)),
      externalPrefixLength: f.externalPrefixLength,
      externalGateway: f.externalGateway,
    })),
  }));
}
