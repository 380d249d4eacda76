import type { Sql, TxSql } from '../../db/connect.ts';
import type { HostView, PlacementRequest } from './types.ts';

interface HostViewRow {
  id: string;
  name: string;
  zone: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  since_heartbeat: number | null;
  capacity_vcpus: number;
  used_vcpus: number;
  capacity_memory_mb: number;
  used_memory_mb: number;
  capacity_disk_gb: number;
  used_disk_gb: number;
}

function toView(r: HostViewRow, serviceDownSeconds: number): HostView {
  return {
    id: r.id,
    name: r.name,
    zone: r.zone,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    forcedDown: r.forced_down,
    up: r.since_heartbeat !== null && r.since_heartbeat <= serviceDownSeconds,
    secondsSinceHeartbeat: r.since_heartbeat,
    capacityVcpus: r.capacity_vcpus,
    usedVcpus: r.used_vcpus,
    capacityMemoryMb: r.capacity_memory_mb,
    usedMemoryMb: r.used_memory_mb,
    capacityDiskGb: r.capacity_disk_gb,
    usedDiskGb: r.used_disk_gb,
  };
}

const columns = (sql: Sql | TxSql) => sql`
  h.id, h.name, z.name as zone, h.enabled, h.disabled_reason, h.forced_down,
  extract(epoch from now() - h.last_heartbeat_at)::float8 as since_heartbeat,
  capacity_vcpus(h) as capacity_vcpus, h.used_vcpus,
  capacity_memory_mb(h) as capacity_memory_mb, h.used_memory_mb,
  capacity_disk_gb(h) as capacity_disk_gb, h.used_disk_gb`;

/**
 * The coarse filter, in SQL: only hosts that are up, enabled, in the zone and have room come back,
 * most free memory first, at most `limit` of them. The precise filters then run on these.
 */
export async function loadCandidates(
  sql: Sql | TxSql,
  req: PlacementRequest,
  serviceDownSeconds: number,
  limit = 50,
): Promise<HostView[]> {
  const rows = await sql<HostViewRow[]>`
    select ${columns(sql)}
      from hosts h left join availability_zones z on z.id = h.zone_id
     where h.enabled and not h.forced_down
       and h.last_heartbeat_at > now() - make_interval(secs => ${serviceDownSeconds})
       and (${req.zone}::text is null or z.name = ${req.zone})
       and h.id <> all(${req.failedHostIds}::uuid[])
       and capacity_vcpus(h) - h.used_vcpus >= ${req.vcpus}
       and capacity_memory_mb(h) - h.used_memory_mb >= ${req.memoryMb}
       and capacity_disk_gb(h) - h.used_disk_gb >= ${req.diskGb}
     order by capacity_memory_mb(h) - h.used_memory_mb desc, h.name
     limit ${limit}`;
  return rows.map((r) => toView(r, serviceDownSeconds));
}

/** Every host, for explaining a refusal (the slow path, taken only when placement failed). */
export async function loadAllHosts(sql: Sql | TxSql, serviceDownSeconds: number): Promise<HostView[]> {
  const rows = await sql<HostViewRow[]>`
    select ${columns(sql)} from hosts h left join availability_zones z on z.id = h.zone_id order by h.name`;
  return rows.map((r) => toView(r, serviceDownSeconds));
}
