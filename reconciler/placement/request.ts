import type { Sql, TxSql } from '../../db/connect.ts';
import { groupMembersByHost, type ServerGroupRow } from '../../store/server-groups.ts';
import type { SchedulerConfig } from './config.ts';
import type { PlacementRequest } from './types.ts';

/** The scheduler hints an instance may carry (Nova's os:scheduler_hints same_host, different_host, query). */
export interface SchedulerHints {
  sameHost?: string[];
  differentHost?: string[];
  /** JsonFilter syntax, as an array or its JSON text. */
  query?: unknown;
}

export interface RequestParts {
  projectId: string;
  flavorId: string;
  imageId: string;
  zone: string | null;
  group: ServerGroupRow | null;
  hints: SchedulerHints;
  failedHostIds: string[];
  ignoredHostIds?: string[];
  /** The instance being placed (left out of its group's members), or null for a would-be one. */
  instanceId: string | null;
  config: SchedulerConfig;
  requestedHostId?: string | null;
  liveMigration?: boolean;
}

/** Hosts of the named instances of the same project (other projects' instances are invisible). */
async function hostsOf(sql: Sql | TxSql, projectId: string, ids: string[] | undefined): Promise<string[] | null> {
  if (!ids) return null;
  const rows = await sql<{ host_id: string }[]>`
    select distinct host_id from instances
     where id = any(${ids}::uuid[]) and project_id = ${projectId} and host_id is not null`;
  return rows.map((r) => r.host_id);
}

/** Nova counts root + ephemeral + swap (rounded up to GiB) as the instance's DISK_GB. */
export async function placementRequest(sql: Sql | TxSql, p: RequestParts): Promise<PlacementRequest> {
  // Sent together: in a transaction, one round trip for both.
  const [[f], [im]] = await Promise.all([
    sql<{ vcpus: number; ram_mb: number; disk_gb: number; extra_specs: Record<string, string> }[]>`
      select f.vcpus, f.ram_mb, flavor_claim_disk_gb(f) as disk_gb, f.extra_specs
        from flavors f where f.id = ${p.flavorId}`,
    sql<{ id: string; name: string; properties: Record<string, string> }[]>`
      select id, name, properties from images where id = ${p.imageId}`,
  ]);
  const g = p.group;
  const query = typeof p.hints.query === 'string' ? JSON.parse(p.hints.query) : (p.hints.query ?? null);
  return {
    projectId: p.projectId,
    vcpus: f!.vcpus,
    memoryMb: f!.ram_mb,
    diskGb: f!.disk_gb,
    zone: p.zone,
    failedHostIds: p.failedHostIds,
    ignoredHostIds: p.ignoredHostIds ?? [],
    extraSpecs: f!.extra_specs,
    image: im!,
    group: g && {
      id: g.id,
      name: g.name,
      policy: g.policy,
      maxServerPerHost: g.max_server_per_host ?? 1,
      membersByHost: await groupMembersByHost(sql, g.id, p.instanceId),
    },
    sameHostIds: await hostsOf(sql, p.projectId, p.hints.sameHost),
    differentHostIds: await hostsOf(sql, p.projectId, p.hints.differentHost),
    query,
    config: p.config,
    requestedHostId: p.requestedHostId ?? null,
    liveMigration: p.liveMigration ?? false,
  };
}
