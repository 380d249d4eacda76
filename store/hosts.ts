import type { Sql, TxSql } from '../db/connect.ts';
import type { HostWithUsage } from '../schema/types/host.ts';

/** Hosts with their zone, capacity, liveness and instance count, optionally narrowed. */
export async function listHosts(
  sql: Sql | TxSql,
  f: { id?: string | null; zone?: string | null; state?: 'up' | 'down' | null; name?: string | null },
  serviceDownSeconds: number,
): Promise<HostWithUsage[]> {
  const rows = await sql<HostWithUsage[]>`
    select * from (
      select h.*, z.name as zone_name,
             capacity_vcpus(h) as capacity_vcpus, capacity_memory_mb(h) as capacity_memory_mb,
             capacity_disk_gb(h) as capacity_disk_gb,
             (not h.forced_down and coalesce(h.last_heartbeat_at > now() - make_interval(secs => ${serviceDownSeconds}), false)) as up,
             (select count(*)::int from instances i where i.host_id = h.id) as instance_count
        from hosts h left join availability_zones z on z.id = h.zone_id
       where (${f.id ?? null}::uuid is null or h.id = ${f.id ?? null}::uuid)
         and (${f.name ?? null}::text is null or h.name = ${f.name ?? null})
         and (${f.zone ?? null}::text is null or z.name = ${f.zone ?? null})
    ) x
     where (${f.state ?? null}::text is null or (x.up = (${f.state ?? null}::text = 'up')))
     order by x.name`;
  return [...rows];
}
