import type { Sql, TxSql } from '../db/connect.ts';
import { isUuid } from './instances.ts';

export type GroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

export interface ServerGroupRow {
  id: string;
  project_id: string;
  user_id: string | null;
  name: string;
  policy: GroupPolicy;
  max_server_per_host: number | null;
  created_at: Date;
}

/** A group of the project (any project with null), by ID or name. */
export async function findServerGroup(sql: Sql | TxSql, ref: string, projectId: string | null): Promise<ServerGroupRow | undefined> {
  const [row] = await sql<ServerGroupRow[]>`
    select * from server_groups
     where (name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid))
       and (${projectId}::uuid is null or project_id = ${projectId}::uuid)
     order by created_at limit 1`;
  return row;
}

/**
 * The instance's group, locked until the placing transaction ends: placements of one group
 * serialise here, so each sees where the previous one landed. "No key update" leaves inserts
 * of new members (which only key-share the row) free to proceed.
 */
export async function lockGroupOfInstance(tx: TxSql, instanceId: string): Promise<ServerGroupRow | undefined> {
  const [row] = await tx<ServerGroupRow[]>`
    select g.* from server_groups g join server_group_members m on m.group_id = g.id
     where m.instance_id = ${instanceId} for no key update of g`;
  return row;
}

/** Host id → members placed there, leaving out one instance (the one being placed). */
export async function groupMembersByHost(sql: Sql | TxSql, groupId: string, exceptInstanceId: string | null): Promise<Map<string, number>> {
  const rows = await sql<{ host_id: string; n: number }[]>`
    select i.host_id, count(*)::int as n
      from server_group_members m join instances i on i.id = m.instance_id
     where m.group_id = ${groupId} and i.host_id is not null and i.id is distinct from ${exceptInstanceId}::uuid
     group by i.host_id`;
  return new Map(rows.map((r) => [r.host_id, r.n]));
}
