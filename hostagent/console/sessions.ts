import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { ConsoleClose, closeReason } from '../../core/console-close.ts';
import type { Log } from '../../core/log.ts';
import type { HypervisorDriver } from '../drivers/driver.ts';
import { relay } from './relay.ts';

/** A client waiting on the proxy for a console of an instance on this host. */
export interface ConsoleSession {
  id: string;
  instanceId: string;
  type: 'VNC' | 'SERIAL';
  relayUrl: string | null;
}

export interface ConsoleSessionsOptions {
  driver: HypervisorDriver;
  log: Log;
  apiUrl: string;
  /** The host credential the dial-back is authenticated with. */
  token: () => string;
  /** The sessions waiting for this host now, then again on every change (list, then watch). */
  watch: () => AsyncIterableIterator<ConsoleSession[]>;
}

/**
 * Converges on the console sessions waiting for this host: each new one gets the guest's console
 * opened here and a socket dialled back to the proxy, once. The host accepts no connection: VNC
 * stays on localhost and the bytes ride the agent's own outbound socket.
 */
export class ConsoleSessions {
  private readonly dialled = new Set<string>();
  private readonly sockets = new Set<WebSocket>();
  private iterator?: AsyncIterableIterator<ConsoleSession[]>;
  private stopped = false;

  constructor(private readonly o: ConsoleSessionsOptions) {}

  start(): void {
    void this.watch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.iterator?.return?.();
    for (const ws of this.sockets) ws.close(1001, 'the host agent is stopping');
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        this.iterator = this.o.watch();
        for await (const sessions of this.iterator) this.converge(sessions);
      } catch (e) {
        if (!this.stopped) this.o.log.warn({ err: (e as Error).message }, 'console watch ended; resubscribing');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A session leaves the list once dialled back (or given up on) and never returns, so forgetting it then is safe. */
  private converge(sessions: ConsoleSession[]): void {
    const listed = new Set(sessions.map((s) => s.id));
    for (const id of this.dialled) if (!listed.has(id)) this.dialled.delete(id);
    for (const s of sessions) {
      if (this.dialled.has(s.id)) continue;
      this.dialled.add(s.id);
      void this.serve(s);
    }
  }

  /** Opens the guest's console, then dials back; a console that cannot open is a close the client reads. */
  private async serve(s: ConsoleSession): Promise<void> {
    const kind = s.type === 'VNC' ? 'vnc' : 'serial';
    let local: Duplex | null = null;
    let failure = '';
    try {
      local = await this.o.driver.openConsole(s.instanceId, kind);
    } catch (e) {
      failure = `the host cannot open the ${kind} console: ${(e as Error).message}`;
      this.o.log.warn({ instance: s.instanceId, session: s.id, err: (e as Error).message }, 'console open failed');
    }
    const base = (s.relayUrl ?? this.o.apiUrl).replace(/^http/, 'ws').replace(/\/$/, '');
    const ws = new WebSocket(`${base}/consoles/host?session=${encodeURIComponent(s.id)}`, {
      headers: { authorization: `Bearer ${this.o.token()}` },
    });
    this.sockets.add(ws);
    ws.on('error', (e) => {
      this.o.log.warn({ session: s.id, err: e.message }, 'console dial-back failed');
      local?.destroy();
    });
    ws.once('open', () => {
      if (!local) ws.close(ConsoleClose.hostFailed, closeReason(failure));
      else relay(local, ws);
    });
    ws.once('close', (code, reason) => {
      this.sockets.delete(ws);
      local?.destroy();
      if (code >= 4000 && code !== ConsoleClose.hostFailed) {
        this.o.log.warn({ session: s.id, code, reason: reason.toString() }, 'console session refused by the proxy');
      }
    });
  }
}
