import { GraphQLError, getOperationAST, type DocumentNode } from 'graphql';
import { shareKey, type Principal } from '../core/principal.ts';

/**
 * Open subscriptions per principal on this API replica (a user across all their tokens and
 * sockets). Each one holds a database listener's fan-out and a socket's buffers, so one token must
 * not open thousands. Host agents are not counted: their few fixed subscriptions are their reserved
 * share, whatever users do.
 */
export class SubscriptionQuota {
  private readonly open = new Map<string, number>();
  /** Per socket, its admitted subscriptions by operation id and whose share each took. */
  private readonly held = new WeakMap<object, Map<string, string>>();

  constructor(private readonly max: number) {}

  /** Counts a subscription in, or refuses it when its principal already holds `max`. */
  admit(socket: object, id: string, principal: Principal, document: DocumentNode, operationName: string | undefined): GraphQLError | null {
    if (getOperationAST(document, operationName)?.operation !== 'subscription' || principal.kind === 'host' || this.max <= 0) return null;
    const key = shareKey(principal);
    const open = this.open.get(key) ?? 0;
    if (open >= this.max) {
      return new GraphQLError(
        `too many subscriptions: at most ${this.max} open at once per user on this API (ORRERY_SUBSCRIPTIONS_PER_USER); end one first`,
        { extensions: { code: 'RATE_LIMITED', limit: this.max } },
      );
    }
    this.open.set(key, open + 1);
    const ids = this.held.get(socket) ?? new Map<string, string>();
    ids.set(id, key);
    this.held.set(socket, ids);
    return null;
  }

  /** The operation ended (completed, errored or stopped by the client); idempotent. */
  release(socket: object, id: string): void {
    const ids = this.held.get(socket);
    const key = ids?.get(id);
    if (key === undefined) return;
    ids!.delete(id);
    const left = (this.open.get(key) ?? 1) - 1;
    if (left > 0) this.open.set(key, left);
    else this.open.delete(key);
  }

  /** The socket closed: whatever it still held is given back. */
  releaseSocket(socket: object): void {
    for (const id of [...(this.held.get(socket)?.keys() ?? [])]) this.release(socket, id);
    this.held.delete(socket);
  }
}
