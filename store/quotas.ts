import { QuotaExceededError } from '../core/errors.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { quotaResourceNames } from '../schema/documents/quota.ts';

export type QuotaResource = (typeof quotaResourceNames)[number];

export interface QuotaLine {
  resource: QuotaResource;
  /** -1: unlimited. */
  limit: number;
  /** Whether the limit is this project's own override rather than the default. */
  overridden: boolean;
  inUse: number;
}

/** Defaults overlaid with the project's own limits. */
export async function quotaLimits(sql: Sql | TxSql, projectId: string): Promise<Map<QuotaResource, { limit: number; overridden: boolean }>> {
  const rows = await sql<{ resource: QuotaResource; hard_limit: number; overridden: boolean }[]>`
    select d.resource, coalesce(l.hard_limit, d.hard_limit) as hard_limit, l.hard_limit is not null as overridden
      from quota_defaults d left join quota_limits l on l.resource = d.resource and l.project_id = ${projectId}`;
  return new Map(rows.map((r) => [r.resource, { limit: r.hard_limit, overridden: r.overridden }]));
}

/**
 * What a project holds now. Instances, cores and RAM are the counters the instance triggers keep
 * in every transaction that writes instances (migrations/000032): one row read, however many
 * instances the project has. Server groups and key pairs are few, counted from their rows. Key
 * pairs belong to a user; members and metadata items are limits per group and per instance, so
 * their project-wide use is 0.
 */
export async function quotaUsage(sql: Sql | TxSql, projectId: string, userId: string | null): Promise<Record<QuotaResource, number>> {
  const [u] = await sql<{ instances: number; cores: number; ram: number; server_groups: number; key_pairs: number }[]>`
    select coalesce(p.instances, 0) as instances, coalesce(p.cores, 0) as cores, coalesce(p.ram_mb, 0) as ram,
           (select count(*)::int from server_groups where project_id = ${projectId}) as server_groups,
           (select count(*)::int from key_pairs where user_id = ${userId}::uuid) as key_pairs
      from (select ${projectId}::uuid as id) q left join project_usage p on p.project_id = q.id`;
  return { ...u!, server_group_members: 0, metadata_items: 0 };
}

/**
 * Serialises every quota-checked write of one project (and key pairs of one user) on its row,
 * until the transaction ends. "No key update" leaves foreign-key checks of other writers alone.
 */
export async function lockQuotaHolder(tx: TxSql, projectId: string, userId?: string): Promise<void> {
  await tx`select 1 from projects where id = ${projectId} for no key update`;
  if (userId) await tx`select 1 from users where id = ${userId} for no key update`;
}

export type QuotaRequest = Partial<Record<QuotaResource, { requested: number; inUse: number }>>;

/** Throws QuotaExceededError for the first resource the request would take past its limit. */
export async function checkQuota(tx: TxSql, projectId: string, request: QuotaRequest): Promise<void> {
  assertWithin(await quotaLimits(tx, projectId), request);
}

function assertWithin(limits: Awaited<ReturnType<typeof quotaLimits>>, request: QuotaRequest): void {
  for (const [resource, r] of Object.entries(request) as [QuotaResource, { requested: number; inUse: number }][]) {
    const limit = limits.get(resource)!.limit;
    if (limit >= 0 && r.inUse + r.requested > limit) throw new QuotaExceededError(resource, r.requested, r.inUse, limit);
  }
}

interface InstanceQuotaNeeds {
  vcpus: number;
  ramMb: number;
  metadataItems: number;
  /** The server group the instance joins, if any (its member count is limited too). */
  groupId: string | null;
}

/**
 * An update of an existing instance: its new metadata, and what a resize adds in cores and RAM
 * (a resize down frees them only when confirmed, so it asks for nothing).
 */
export async function enforceUpdateQuota(
  tx: TxSql,
  projectId: string,
  n: { metadataItems: number | null; extraVcpus: number; extraRamMb: number },
): Promise<void> {
  const request: QuotaRequest = {};
  if (n.metadataItems !== null) request.metadata_items = { requested: n.metadataItems, inUse: 0 };
  if (n.extraVcpus > 0 || n.extraRamMb > 0) {
    await lockQuotaHolder(tx, projectId);
    const use = await quotaUsage(tx, projectId, null);
    request.cores = { requested: Math.max(0, n.extraVcpus), inUse: use.cores };
    request.ram = { requested: Math.max(0, n.extraRamMb), inUse: use.ram };
  }
  await checkQuota(tx, projectId, request);
}

/**
 * Locks the project and checks everything the new instances take together, inside the creating
 * transaction: one read of the project's usage whether one instance is created or a thousand.
 * Metadata items are a limit per instance, so the largest request is the one checked.
 */
export async function enforceInstancesQuota(tx: TxSql, projectId: string, needs: InstanceQuotaNeeds[]): Promise<void> {
  await lockQuotaHolder(tx, projectId);
  const [use, limits] = await Promise.all([quotaUsage(tx, projectId, null), quotaLimits(tx, projectId)]);
  assertWithin(limits, {
    instances: { requested: needs.length, inUse: use.instances },
    cores: { requested: needs.reduce((s, n) => s + n.vcpus, 0), inUse: use.cores },
    ram: { requested: needs.reduce((s, n) => s + n.ramMb, 0), inUse: use.ram },
    metadata_items: { requested: Math.max(0, ...needs.map((n) => n.metadataItems)), inUse: 0 },
  });
  const joining = new Map<string, number>();
  for (const n of needs) if (n.groupId) joining.set(n.groupId, (joining.get(n.groupId) ?? 0) + 1);
  if (joining.size === 0) return;
  const members = await tx<{ group_id: string; n: number }[]>`
    select g.id as group_id, (select count(*)::int from server_group_members m where m.group_id = g.id) as n
      from unnest(${[...joining.keys()]}::uuid[]) as g(id)`;
  for (const m of members) {
    assertWithin(limits, { server_group_members: { requested: joining.get(m.group_id)!, inUse: m.n } });
  }
}
