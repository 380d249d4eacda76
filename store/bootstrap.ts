import type { Sql } from '../db/connect.ts';
import { issueToken } from './tokens.ts';

export interface Bootstrap {
  /** Set only on the first start, when the admin token was created now. */
  adminToken?: string;
  projectId: string;
  userId: string;
}

/**
 * On first start: an `admin` project and user holding every role, and one admin token — the one
 * in ORRERY_ADMIN_TOKEN when given, else a fresh one returned for the caller to show once.
 */
export async function bootstrapAdmin(sql: Sql, givenToken?: string): Promise<Bootstrap> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(7201446002)`;
    const [existing] = await tx<{ project_id: string; user_id: string }[]>`
      select p.id as project_id, u.id as user_id from projects p, users u
       where p.name = 'admin' and u.name = 'admin'`;
    if (existing) return { projectId: existing.project_id, userId: existing.user_id };
    const [p] = await tx<{ id: string }[]>`insert into projects (name, description) values ('admin', 'Operators') returning id`;
    const [u] = await tx<{ id: string }[]>`insert into users (name) values ('admin') returning id`;
    for (const role of ['reader', 'member', 'admin']) {
      await tx`insert into role_assignments (user_id, project_id, role) values (${u!.id}, ${p!.id}, ${role})`;
    }
    const token = await issueToken(tx, {
      kind: 'user',
      userId: u!.id,
      projectId: p!.id,
      description: 'bootstrap admin token',
      secret: givenToken,
    });
    return { adminToken: token.secret, projectId: p!.id, userId: u!.id };
  });
}
