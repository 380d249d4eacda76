import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConsoleClose, closeReason } from '../core/console-close.ts';
import type { Principal } from '../core/principal.ts';
import { isUuid } from '../store/instances.ts';
import {
  connectConsoleHost,
  consumeConsoleToken,
  endConsoleSession,
  type ConsoleRefusal,
} from '../store/console-tokens.ts';
import { authenticate } from '../store/tokens.ts';
import { bearer } from './authenticate.ts';
import { pairSockets } from './console-pair.ts';
import type { BaseContext } from './graphql-http.ts';

export const CLIENT_PATH = '/consoles/websocket';
export const HOST_PATH = '/consoles/host';
/** What a client may send before its host has dialled back (a VNC client sends nothing first). */
const MAX_EARLY_BYTES = 256 * 1024;

interface Waiting {
  client: WebSocket;
  early: { data: Buffer; binary: boolean }[];
  timer: NodeJS.Timeout;
}

/**
 * The console proxy (Nova's novncproxy and serial proxy in one): a byte pump with a token check
 * at the door. A client's socket waits here, in this process, until the agent of the instance's
 * host dials back (it learns of the session from its console watch) and the two are paired.
 * Hosts never accept connections: they keep VNC on localhost and dial out, as they do for
 * everything else. The session row names this process, so with several API replicas an agent
 * dialling the wrong one is refused; ORRERY_CONSOLE_RELAY_URL gives each replica an address of
 * its own for agents to dial instead.
 */
export class ConsoleProxy {
  readonly processId = randomUUID();
  private listenUrl = '';
  private readonly waiting = new Map<string, Waiting>();
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024 * 1024,
    // noVNC asks for "binary"; other clients may ask for nothing.
    handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
  });

  constructor(private readonly base: Omit<BaseContext, 'consoles'>) {}

  /** The API's own address, once it listens: the default for console URLs. */
  listening(url: string): void {
    this.listenUrl = url;
  }

  /** The URL a client opens with this token (under ORRERY_CONSOLE_BASE_URL when set). */
  clientUrl(secret: string): string {
    const base = this.base.config.consoleBaseUrl ?? this.listenUrl.replace(/^http/, 'ws') + CLIENT_PATH;
    return `${base}${base.includes('?') ? '&' : '?'}token=${encodeURIComponent(secret)}`;
  }

  handles(path: string): boolean {
    return path === CLIENT_PATH || path === HOST_PATH;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      const url = new URL(req.url ?? '/', 'http://proxy');
      const opened = url.pathname === CLIENT_PATH ? this.openClient(ws, req, url) : this.openHost(ws, req, url);
      opened.catch((e: unknown) => {
        this.base.log.error({ err: e }, 'console proxy failed');
        refuse(ws, { code: 1011, reason: 'internal error in the console proxy' });
      });
    });
  }

  stop(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    for (const ws of this.sockets) ws.close(1001, 'the API is shutting down');
  }

  /** A client with a token: used here, once, then it waits for the host. */
  private async openClient(ws: WebSocket, req: IncomingMessage, url: URL): Promise<void> {
    const secret = url.searchParams.get('token');
    if (!secret) return refuse(ws, { code: ConsoleClose.badRequest, reason: 'the console URL needs its token' });
    // Early bytes are kept from the first moment: a client may type before the host is there.
    const early: Waiting['early'] = [];
    let earlyBytes = 0;
    const keep = (data: Buffer, binary: boolean) => {
      earlyBytes += data.length;
      if (earlyBytes > MAX_EARLY_BYTES) refuse(ws, { code: ConsoleClose.badRequest, reason: 'too much input before the console connected' });
      else early.push({ data, binary });
    };
    ws.on('message', keep);
    // The token is the credential (a browser's noVNC has no other); a client that also says who
    // it is must be of the token's project.
    const caller = await this.caller(req);
    if ('code' in caller) return refuse(ws, caller);
    const used = await consumeConsoleToken(this.base.sql, {
      secret,
      projectId: caller.projectId,
      apiProcess: this.processId,
      relayUrl: this.base.config.consoleRelayUrl ?? null,
    });
    if ('code' in used) return refuse(ws, used);
    const end = (reason: string) => void endConsoleSession(this.base.sql, used.id, reason).catch(() => {});
    if (ws.readyState !== ws.OPEN) return end('the client left before its host connected');
    const dialSeconds = this.base.config.consoleHostDialSeconds;
    const timer = setTimeout(() => {
      this.waiting.delete(used.id);
      refuse(ws, { code: ConsoleClose.hostTimeout, reason: `the instance's host did not connect the console within ${dialSeconds} s` });
      end('the host did not connect');
    }, dialSeconds * 1000);
    const waiting: Waiting = { client: ws, early, timer };
    ws.once('close', () => {
      if (this.waiting.get(used.id) !== waiting) return;
      clearTimeout(timer);
      this.waiting.delete(used.id);
      end('the client left before its host connected');
    });
    this.waiting.set(used.id, waiting);
  }

  /** An agent dialling back for a session of its own host, waiting in this process. */
  private async openHost(ws: WebSocket, req: IncomingMessage, url: URL): Promise<void> {
    // The guest speaks first (a VNC server sends its version at once): hold its bytes until paired.
    ws.pause();
    const secret = bearer(req.headers.authorization);
    const principal = secret ? await authenticate(this.base.sql, secret) : null;
    if (!principal) return refuse(ws, { code: ConsoleClose.unauthenticated, reason: 'a host credential is required' });
    if (principal.kind !== 'host' || !this.base.policy.allows(principal, 'agent:console')) {
      return refuse(ws, { code: ConsoleClose.forbidden, reason: 'the agent:console rule does not allow this caller' });
    }
    const sessionId = url.searchParams.get('session') ?? '';
    if (!isUuid(sessionId)) return refuse(ws, { code: ConsoleClose.badRequest, reason: 'session must be a console session id' });
    const connected = await connectConsoleHost(this.base.sql, { sessionId, hostId: principal.hostId, apiProcess: this.processId });
    if ('code' in connected) return refuse(ws, connected);
    const waiting = this.waiting.get(sessionId);
    this.waiting.delete(sessionId);
    if (!waiting || waiting.client.readyState !== waiting.client.OPEN) {
      refuse(ws, { code: ConsoleClose.gone, reason: 'the client left before the host connected' });
      return endConsoleSession(this.base.sql, sessionId, 'the client left before its host connected');
    }
    clearTimeout(waiting.timer);
    // From here on the pair relays what the client sends; what it sent so far goes first.
    waiting.client.removeAllListeners('message');
    pairSockets(waiting.client, ws, waiting.early, (reason) => {
      void endConsoleSession(this.base.sql, sessionId, reason).catch(() => {});
    });
    ws.resume();
  }

  /** The client's own credential, when it sends one: the project its token must belong to (admins: any). */
  private async caller(req: IncomingMessage): Promise<{ projectId: string | null } | ConsoleRefusal> {
    const header = req.headers.authorization;
    if (header === undefined) return { projectId: null };
    const secret = bearer(header);
    const principal: Principal | null = secret ? await authenticate(this.base.sql, secret) : null;
    if (!principal) return { code: ConsoleClose.unauthenticated, reason: 'invalid or expired bearer token' };
    if (principal.kind !== 'user') return { code: ConsoleClose.forbidden, reason: 'consoles are opened with a user token' };
    return { projectId: this.base.policy.allows(principal, 'instance:list_all_projects') ? null : principal.projectId };
  }
}

function refuse(ws: WebSocket, r: ConsoleRefusal): void {
  if (ws.isPaused) ws.resume(); // the closing handshake needs the peer's answer read
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(r.code, closeReason(r.reason));
}
