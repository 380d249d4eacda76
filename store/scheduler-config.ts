import type { Sql, TxSql } from '../db/connect.ts';
import { defaultSchedulerConfig, resolveSchedulerConfig, type SchedulerConfig } from '../reconciler/placement/config.ts';
import type { SchedulerConfigSpec } from '../schema/documents/scheduler-config.ts';

export interface SchedulerConfigRecord {
  version: number;
  spec: SchedulerConfigSpec;
  applied_by: string | null;
  applied_by_name: string | null;
  applied_at: Date;
}

let cached: SchedulerConfig = defaultSchedulerConfig;

/**
 * The configuration in force, read fresh for every placement so an applied change takes effect
 * without a restart. The spec itself travels only when the version moved since the last read.
 */
export async function currentSchedulerConfig(sql: Sql | TxSql): Promise<SchedulerConfig> {
  const [row] = await sql<{ version: number; spec: SchedulerConfigSpec | null }[]>`
    select version, case when version <> ${cached.version} then spec end as spec
      from scheduler_configs order by version desc limit 1`;
  if (!row) cached = defaultSchedulerConfig;
  else if (row.spec) cached = resolveSchedulerConfig(row.version, row.spec);
  return cached;
}

/** Records a new version; applies serialise on the table so versions never collide. */
export async function applySchedulerConfig(tx: TxSql, spec: SchedulerConfigSpec, userId: string): Promise<number> {
  await tx`lock table scheduler_configs in share row exclusive mode`;
  const [row] = await tx<{ version: number }[]>`
    insert into scheduler_configs (version, spec, applied_by)
    select coalesce(max(version), 0) + 1, ${tx.json(spec as never)}, ${userId} from scheduler_configs
    returning version`;
  return row!.version;
}

/** Newest first; the first is in force. */
export async function schedulerConfigHistory(sql: Sql | TxSql, limit: number): Promise<SchedulerConfigRecord[]> {
  return sql<SchedulerConfigRecord[]>`
    select c.version, c.spec, c.applied_by, u.name as applied_by_name, c.applied_at
      from scheduler_configs c left join users u on u.id = c.applied_by
     order by c.version desc limit ${limit}`;
}
