import type { Sql, TxSql } from '../db/connect.ts';
import type { ProjectRow, UserRow } from './rows.ts';

export interface Membership {
  project: ProjectRow;
  roles: string[];
}

export type UserWithRoles = UserRow & { memberships: Membership[] };

/** Users (all, one by id, or the members of one project) with their roles, in two queries whatever their number. */
export async function loadUsers(sql: Sql | TxSql, by: { userId?: string; projectId?: string } = {}): Promise<UserWithRoles[]> {
  const users = await sql<UserRow[]>`
    select * from users u
     where (${by.userId ?? null}::uuid is null or u.id = ${by.userId ?? null}::uuid)
       and (${by.projectId ?? null}::uuid is null
            or exists (select 1 from role_assignments r where r.user_id = u.id and r.project_id = ${by.projectId ?? null}::uuid))
     order by u.name`;
  const assignments = await sql<(ProjectRow & { user_id: string; roles: string[] })[]>`
    select p.*, r.user_id, array_agg(r.role order by r.role) as roles
      from role_assignments r join projects p on p.id = r.project_id
     where r.user_id = any(${users.map((u) => u.id)}::uuid[])
     group by p.id, r.user_id
     order by p.name`;
  return users.map((u) => ({
    ...u,
    memberships: assignments.filter((a) => a.user_id === u.id).map(({ user_id: _, roles, ...project }) => ({ project, roles })),
  }));
}
