import type { Sql, TxSql } from '../db/connect.ts';

export interface FloatingIpRow {
  id: string;
  project_id: string;
  network_id: string;
  subnet_id: string;
  address: string;
  port_id: string | null;
  fixed_ip: string | null;
  created_at: Date;
}

/** The project's floating IPs (every project's with null), or the one with this id. */
export async function loadFloatingIps(sql: Sql | TxSql, projectId: string | null, id: string | null, lock = false): Promise<FloatingIpRow[]> {
  return sql<FloatingIpRow[]>`
    select id, project_id, network_id, subnet_id, host(address) as address, port_id, host(fixed_ip) as fixed_ip, created_at
      from floating_ips
     where (${projectId}::uuid is null or project_id = ${projectId}::uuid) and (${id}::uuid is null or id = ${id}::uuid)
     order by address ${lock ? sql`for update` : sql``}`;
}
