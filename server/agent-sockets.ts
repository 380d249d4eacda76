import type { WebSocket } from 'ws';
import type { Log } from '../core/log.ts';
import type { Sql } from '../db/connect.ts';
import { renewLeases } from '../store/host-leases.ts';
import { leaseRenewals } from './metrics/api.ts';
import type { SocketPrincipals } from './socket-principals.ts';

interface AgentSocket {
  ws: WebSocket;
  /** When a graphql-ws message (an operation, the client's keep-alive ping, anything) last arrived. */
  heardAt: number;
}

/** Close code of a socket whose host's lease this process could not record: its agent reconnects, perhaps elsewhere. */
const LEASE_NOT_RECORDED = 1011;

/**
 * Host liveness from the agents' sockets: every `intervalMs` this API process renews, in one
 * statement, the leases of the hosts whose sockets showed traffic since its last renewal. An agent
 * keeps its lease by keeping its socket busy (its keep-alive pings at least), not by a heartbeat
 * mutation each; a hung agent whose socket stays open but says nothing loses it.
 */
export class AgentSockets {
  private readonly sockets = new Map<object, AgentSocket>();
  private readonly timer: NodeJS.Timeout;
  private lastRenewal: number;
  /** The renewal under way, if any. */
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly sql: Sql,
    /** Re-checks each socket's token when stale: a revoked host credential stops renewing its lease. */
    private readonly principals: SocketPrincipals,
    private readonly log: Log,
    intervalMs: number,
  ) {
    this.lastRenewal = Date.now();
    // One at a time: a tick during a slow renewal is skipped, and the next covers its interval too.
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, intervalMs);
    this.timer.unref();
  }

  /** A host's socket, once its credential is accepted; forgotten when it closes. */
  add(ctx: object, ws: WebSocket): void {
    if (ws.readyState !== ws.OPEN) return; // closed while its token was checked: no 'close' to come
    const s: AgentSocket = { ws, heardAt: Date.now() };
    this.sockets.set(ctx, s);
    ws.on('message', () => {
      s.heardAt = Date.now();
    });
    ws.once('close', () => this.sockets.delete(ctx));
  }

  /** One statement for every host heard from since the last renewal; nothing to renew, no statement. */
  private async renew(): Promise<void> {
    const since = this.lastRenewal;
    this.lastRenewal = Date.now();
    const heard = [...this.sockets].filter(([, s]) => s.heardAt >= since);
    if (heard.length === 0) return;
    try {
      // The host of each socket's own credential, and only while that credential stands.
      const principals = await Promise.all(heard.map(([ctx]) => this.principals.current(ctx)));
      const hostIds = principals.flatMap((p) => (p?.kind === 'host' ? [p.hostId] : []));
      if (hostIds.length === 0) return;
      await renewLeases(this.sql, hostIds);
      leaseRenewals.inc({ outcome: 'success' });
    } catch (e) {
      leaseRenewals.inc({ outcome: 'error' });
      this.log.warn({ err: (e as Error).message, sockets: heard.length }, 'renewing host leases failed; closing those hosts\' sockets');
      // Their agents see the control plane as unreachable (not ready) and reconnect, perhaps elsewhere.
      for (const [, s] of heard) s.ws.close(LEASE_NOT_RECORDED, 'host lease not recorded');
    }
  }

  /** With the API: no renewal after it, none left running. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
  }
}
