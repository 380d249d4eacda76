import { createHash, randomBytes } from 'node:crypto';
import type { Sql, TxSql } from '../db/connect.ts';
import type { Principal, Role } from '../core/principal.ts';

const PREFIX = { user: 'orr_u_', host: 'orr_h_', enrollment: 'orr_e_' } as const;
type TokenKind = keyof typeof PREFIX;

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** A new bearer secret: the kind's prefix and 256 random bits. */
export function newSecret(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

export interface IssuedToken {
  id: string;
  secret: string;
}

/** Stores only the hash; the secret is returned once. A given secret (from the environment) is used as is. */
export async function issueToken(
  sql: Sql | TxSql,
  t: { kind: TokenKind; userId?: string; projectId?: string; hostId?: string; description?: string; secret?: string; expiresAt?: Date },
): Promise<IssuedToken> {
  const secret = t.secret ?? newSecret(t.kind);
  const [row] = await sql<{ id: string }[]>`
    insert into tokens (secret_hash, kind, user_id, project_id, host_id, description, expires_at)
    values (${hashSecret(secret)}, ${t.kind}, ${t.userId ?? null}, ${t.projectId ?? null},
            ${t.hostId ?? null}, ${t.description ?? ''}, ${t.expiresAt ?? null})
    returning id`;
  return { id: row!.id, secret };
}

interface TokenRow {
  id: string;
  kind: TokenKind;
  user_id: string | null;
  user_name: string | null;
  project_id: string | null;
  host_id: string | null;
  roles: Role[] | null;
}

/** The principal behind a bearer secret, or null when the token is unknown or expired. */
export async function authenticate(sql: Sql, secret: string): Promise<Principal | null> {
  const [row] = await sql<TokenRow[]>`
    select t.id, t.kind, t.user_id, u.name as user_name, t.project_id, t.host_id,
           (select array_agg(r.role order by r.role) from role_assignments r
             where r.user_id = t.user_id and r.project_id = t.project_id) as roles
      from tokens t left join users u on u.id = t.user_id
     where t.secret_hash = ${hashSecret(secret)} and (t.expires_at is null or t.expires_at > now())`;
  if (!row) return null;
  switch (row.kind) {
    case 'user':
      return {
        kind: 'user',
        tokenId: row.id,
        userId: row.user_id!,
        userName: row.user_name!,
        projectId: row.project_id!,
        roles: row.roles ?? [],
      };
    case 'host':
      return { kind: 'host', tokenId: row.id, hostId: row.host_id! };
    case 'enrollment':
      return { kind: 'enrollment', tokenId: row.id };
  }
}
