import type { Sql, TxSql } from '../db/connect.ts';
import { isUuid } from './instances.ts';

type Q = Sql | TxSql;

export interface NetworkRow {
  id: string;
  project_id: string;
  name: string;
  shared: boolean;
  external: boolean;
  segment_type: 'vxlan' | 'bridge';
  vni: number | null;
  provider_bridge: string | null;
  mtu: number;
  created_at: Date;
}

export interface SubnetRow {
  id: string;
  network_id: string;
  name: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  dns_servers: string[];
  host_routes: { destination: string; nexthop: string }[];
  dhcp_enabled: boolean;
  created_at: Date;
}

/** Who is looking: a project sees its own networks, shared ones and external ones; null sees all. */
export type NetworkScope = { projectId: string | null };

/** A network the scope can see, by ID or name (its own first when names collide). */
export async function findNetwork(sql: Q, ref: string, scope: NetworkScope, lock = false): Promise<NetworkRow | undefined> {
  const [row] = await sql<NetworkRow[]>`
    select * from networks n
     where (n.name = ${ref} or (${isUuid(ref)} and n.id = ${isUuid(ref) ? ref : null}::uuid))
       and (${scope.projectId}::uuid is null or n.project_id = ${scope.projectId}::uuid or n.shared or n.external)
     order by (n.project_id = ${scope.projectId}::uuid) desc nulls last, n.created_at
     limit 1 ${lock ? sql`for update of n` : sql``}`;
  return row;
}

export async function listNetworks(sql: Q, scope: NetworkScope): Promise<NetworkRow[]> {
  return sql<NetworkRow[]>`
    select * from networks n
     where ${scope.projectId}::uuid is null or n.project_id = ${scope.projectId}::uuid or n.shared or n.external
     order by n.name, n.created_at`;
}

export async function subnetsOf(sql: Q, networkId: string): Promise<SubnetRow[]> {
  return sql<SubnetRow[]>`
    select id, network_id, name, ip_version, cidr::text, host(gateway_ip) as gateway_ip,
           array(select host(d) from unnest(dns_servers) d) as dns_servers, host_routes, dhcp_enabled, created_at
      from subnets where network_id = ${networkId} order by created_at, id`;
}

export async function poolsOf(sql: Q, subnetId: string): Promise<{ first: string; last: string }[]> {
  return sql<{ first: string; last: string }[]>`
    select host(first) as first, host(last) as last from subnet_allocation_pools where subnet_id = ${subnetId} order by first`;
}

/**
 * The lowest free VXLAN id. Network creations take it one at a time (a transaction-scoped lock),
 * so two never pick the same; the unique constraint stays as the backstop.
 */
export async function allocateVni(tx: TxSql): Promise<number | null> {
  await tx`select pg_advisory_xact_lock(hashtext('orrery.networks.vni'))`;
  const [row] = await tx<{ vni: number | null }[]>`
    select case when not exists (select 1 from networks where vni = 1) then 1
                else (select min(n.vni) + 1 from networks n
                       where n.vni < 16777215 and not exists (select 1 from networks m where m.vni = n.vni + 1)) end as vni`;
  return row?.vni ?? null;
}
