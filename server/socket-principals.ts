import type { Principal } from '../core/principal.ts';
import type { Sql } from '../db/connect.ts';
import { bearer } from './authenticate.ts';
import { authenticate } from '../store/tokens.ts';

/**
 * How long a socket's authentication stands before the next operation checks the token again.
 * Agents send an operation every few seconds over one socket; looking the token up for each would
 * be a query per report. The lease renewal (agent-sockets.ts) reads it here too. A revoked or
 * expired token stops working, and stops renewing its host's lease, within this time.
 */
export const SOCKET_REAUTH_MS = 60_000;

interface Session {
  token: string;
  principal: Principal | null;
  checkedAt: number;
}

/** The principal of each open graphql-ws socket, authenticated at connect and re-checked when stale. */
export class SocketPrincipals {
  private readonly sessions = new WeakMap<object, Session>();

  constructor(
    private readonly sql: Sql,
    private readonly now: () => number = Date.now,
  ) {}

  async connect(socket: object, params: Record<string, unknown>): Promise<Principal | null> {
    const token = bearer(params.authorization ?? params.Authorization);
    if (!token) return null;
    const session: Session = { token, principal: await authenticate(this.sql, token), checkedAt: this.now() };
    this.sessions.set(socket, session);
    return session.principal;
  }

  /** The socket's principal, checking its token again when the last check is older than SOCKET_REAUTH_MS. */
  async current(socket: object): Promise<Principal | null> {
    const session = this.sessions.get(socket);
    if (!session) return null;
    if (this.now() - session.checkedAt >= SOCKET_REAUTH_MS) {
      session.principal = await authenticate(this.sql, session.token);
      session.checkedAt = this.now();
    }
    return session.principal;
  }

  forget(socket: object): void {
    this.sessions.delete(socket);
  }
}
