import type { Sql } from '../db/connect.ts';
import type { Role } from '../core/principal.ts';
import type { ProjectRow } from './rows.ts';
import { hashSecret, issueToken } from './tokens.ts';

/** What Keystone's token body tells about a user token. */
export interface TokenDetails {
  id: string;
  user_id: string;
  user_name: string;
  project_id: string;
  project_name: string;
  roles: Role[];
  created_at: Date;
  expires_at: Date | null;
}

/** A project, by name or id, in which the user holds a role; undefined when there is none. */
export async function memberProject(sql: Sql, userId: string, project: { id?: string; name?: string }): Promise<{ id: string; name: string } | undefined> {
  const [row] = await sql<{ id: string; name: string }[]>`
    select p.id, p.name from projects p
     where exists (select 1 from role_assignments r where r.user_id = ${userId} and r.project_id = p.id)
       and (${project.id ?? null}::text is null or p.id::text = ${project.id ?? null})
       and (${project.name ?? null}::text is null or p.name = ${project.name ?? null})
     order by p.name limit 1`;
  return row;
}

/** A login's token: an ordinary user token of the project, expiring after `ttlSeconds`. */
export async function issueSessionToken(sql: Sql, userId: string, projectId: string, ttlSeconds: number, description: string) {
  return issueToken(sql, { kind: 'user', userId, projectId, description, expiresAt: new Date(Date.now() + ttlSeconds * 1000) });
}

export async function tokenDetails(sql: Sql, secret: string): Promise<TokenDetails | undefined> {
  const [row] = await sql<TokenDetails[]>`
    select t.id, t.user_id, u.name as user_name, t.project_id, p.name as project_name, t.created_at, t.expires_at,
           coalesce((select array_agg(r.role order by r.role) from role_assignments r
                      where r.user_id = t.user_id and r.project_id = t.project_id), '{}') as roles
      from tokens t join users u on u.id = t.user_id join projects p on p.id = t.project_id
     where t.secret_hash = ${hashSecret(secret)} and t.kind = 'user' and (t.expires_at is null or t.expires_at > now())`;
  return row;
}

export async function revokeToken(sql: Sql, tokenId: string): Promise<void> {
  await sql`delete from tokens where id = ${tokenId}`;
}

/** The projects a user holds a role in, by name. */
export async function memberProjects(sql: Sql, userId: string): Promise<ProjectRow[]> {
  return sql<ProjectRow[]>`
    select p.* from projects p
     where exists (select 1 from role_assignments r where r.user_id = ${userId} and r.project_id = p.id) order by p.name`;
}

/** A project by id, if the user holds a role in it (or may see every project). */
export async function visibleProject(sql: Sql, id: string, userId: string, seesAll: boolean): Promise<ProjectRow | undefined> {
  const [row] = await sql<ProjectRow[]>`
    select p.* from projects p where p.id::text = ${id}
       and (${seesAll} or exists (select 1 from role_assignments r where r.user_id = ${userId} and r.project_id = p.id))`;
  return row;
}

export async function userNameById(sql: Sql, id: string): Promise<string | undefined> {
  const [row] = await sql<{ name: string }[]>`select name from users where id::text = ${id}`;
  return row?.name;
}
