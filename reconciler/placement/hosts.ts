import type { Sql, TxSql } from '../../db/connect.ts';
import type { HostAggregate, HostView, PlacementRequest } from './types.ts';

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
  effective_cpu_ratio: number;
  effective_ram_ratio: number;
  effective_disk_ratio: number;
  hypervisor_type: string;
  hypervisor_version: string;
  architecture: string;
  capabilities: Record<string, unknown>;
  aggregates: HostAggregate[];
  num_instances: number;
  num_io_ops: number;
  build_failures: number;
  migration_uri: string | null;
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
    ratios: { cpu: r.effective_cpu_ratio, ram: r.effective_ram_ratio, disk: r.effective_disk_ratio },
    hypervisorType: r.hypervisor_type,
    hypervisorVersion: r.hypervisor_version,
    architecture: r.architecture,
    capabilities: r.capabilities,
    aggregates: r.aggregates,
    numInstances: r.num_instances,
    numIoOps: r.num_io_ops,
    buildFailures: r.build_failures,
    migrationUri: r.migration_uri,
  };
}

// Task states that load a host's disks and network (Nova's io_ops), besides building.
const IO_TASKS = ['spawning', 'rebuilding', 'resize_prep', 'resize_migrating', 'image_snapshot', 'image_backup', 'rescuing', 'unshelving', 'migrating'];

// Per-host subqueries run only for the rows that come back (after the limit), each on an index.
const columns = (sql: Sql | TxSql) => sql`
  h.id, h.name, z.name as zone, h.enabled, h.disabled_reason, h.forced_down,
  extract(epoch from now() - h.last_heartbeat_at)::float8 as since_heartbeat,
  capacity_vcpus(h) as capacity_vcpus, h.used_vcpus,
  capacity_memory_mb(h) as capacity_memory_mb, h.used_memory_mb,
  capacity_disk_gb(h) as capacity_disk_gb, h.used_disk_gb,
  h.effective_cpu_ratio, h.effective_ram_ratio, h.effective_disk_ratio,
  h.hypervisor_type, h.hypervisor_version, h.architecture, h.capabilities, h.migration_uri,
  coalesce((select json_agg(json_build_object('name', a.name, 'metadata', a.metadata))
              from aggregate_hosts ah join aggregates a on a.id = ah.aggregate_id where ah.host_id = h.id), '[]') as aggregates,
  (select count(*)::int from instances i where i.host_id = h.id) as num_instances,
  (select count(*)::int from instances i where i.host_id = h.id
      and (i.vm_state = 'building' or i.task_state = any(${IO_TASKS}::text[]))) as num_io_ops,
  coalesce((select f.failures from host_build_failures f where f.host_id = h.id), 0) as build_failures`;

/**
 * The coarse filter, in SQL: the enabled filters that SQL can decide (Compute, AvailabilityZone,
 * Retry, RAM, Disk, Core, AggregateMultiTenancyIsolation) prune the fleet, and the
 * hosts_free_memory index hands back the best `limit` by free RAM in the RAM weigher's direction,
 * so the cost does not grow with the fleet. The precise filters then run on these.
 * `lockSkippingLocked` (batched placement) locks the hosts it returns and passes over hosts another
 * transaction holds, so concurrent batches place on disjoint hosts instead of queueing on rows.
 */
export async function loadCandidates(
  sql: Sql | TxSql,
  req: PlacementRequest,
  serviceDownSeconds: number,
  options: { lockSkippingLocked?: boolean } = {},
): Promise<HostView[]> {
  const on = new Set(req.config.filters);
  const none = sql``;
  const rows = await sql<HostViewRow[]>`
    select ${columns(sql)}
      from hosts h left join availability_zones z on z.id = h.zone_id
     where true
       ${req.requestedHostId !== null ? sql`and h.id = ${req.requestedHostId}` : none}
       ${req.ignoredHostIds.length > 0 ? sql`and h.id <> all(${req.ignoredHostIds}::uuid[])` : none}
       ${on.has('Compute') ? sql`and h.enabled and not h.forced_down
           and h.last_heartbeat_at > now() - make_interval(secs => ${serviceDownSeconds})` : none}
       ${on.has('AvailabilityZone') && req.zone !== null ? sql`and z.name = ${req.zone}` : none}
       ${on.has('Retry') && req.failedHostIds.length > 0 ? sql`and h.id <> all(${req.failedHostIds}::uuid[])` : none}
       ${on.has('RAM') ? sql`and h.free_memory_mb >= ${req.memoryMb}` : none}
       ${on.has('Disk') ? sql`and h.free_disk_gb >= ${req.diskGb}` : none}
       ${on.has('Core') ? sql`and h.free_vcpus >= ${req.vcpus}` : none}
       ${on.has('AggregateMultiTenancyIsolation') ? sql`and coalesce((
           select bool_or(${req.projectId} = any(string_to_array(replace(m.value, ' ', ''), ',')))
             from aggregate_hosts ah join aggregates a on a.id = ah.aggregate_id, jsonb_each_text(a.metadata) m
            where ah.host_id = h.id and m.key like 'filter\\_tenant\\_id%'), true)` : none}
     order by ${req.config.weighers.RAM < 0 ? sql`h.free_memory_mb` : sql`h.free_memory_mb desc`}
     limit ${req.config.candidateLimit}
     ${options.lockSkippingLocked ? sql`for no key update of h skip locked` : none}`;
  return rows.map((r) => toView(r, serviceDownSeconds));
}

/** Every host, for explaining a placement or a refusal over the whole fleet. */
export async function loadAllHosts(sql: Sql | TxSql, serviceDownSeconds: number): Promise<HostView[]> {
  const rows = await sql<HostViewRow[]>`
    select ${columns(sql)} from hosts h left join availability_zones z on z.id = h.zone_id order by h.name`;
  return rows.map((r) => toView(r, serviceDownSeconds));
}
