import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Sql } from '../db/connect.ts';
import type { Principal } from '../core/principal.ts';
import { authenticate } from '../store/tokens.ts';

/** Bearer token from an Authorization header value (or graphql-ws connection params). */
export function bearer(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? m[1]! : null;
}

/** Every request must carry a valid token; there is no anonymous access to anything. */
export async function principalFor(sql: Sql, header: unknown): Promise<Principal> {
  const token = bearer(header);
  const principal = token ? await authenticate(sql, token) : null;
  if (!principal) {
    throw new GraphQLError(token ? 'invalid or expired token' : 'missing bearer token', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
  return principal;
}

export function requestIdFrom(header: unknown): string {
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : `req-${randomUUID()}`;
}
