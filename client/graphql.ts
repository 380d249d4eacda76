import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export class GraphqlRequestError extends Error {
  constructor(
    message: string,
    readonly errors: { message: string; extensions?: Record<string, unknown> }[],
    readonly status: number,
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code as string | undefined;
  }
}

/** How long an idle socket stays open for the next operation over it. */
const LAZY_CLOSE_MS = 2_000;

/** What the subscription socket last did: whether it is connected, and when anything last came over it. */
export interface SocketHealth {
  connected: boolean;
  /** Date.now() of the last message received (an answer, a push, a pong); null before the first. */
  heardAt: number | null;
  /** Why the socket last closed, while it is not connected. */
  closed: string | null;
}

export interface OrreryClientOptions {
  /** Sends a graphql-ws ping this long after the last pong: traffic that keeps a host agent's lease. */
  keepAliveMs?: number;
}

/** A small GraphQL client for the CLI, the host agent and tests: HTTP for operations, graphql-ws for subscriptions. */
export class OrreryClient {
  private ws?: Client;
  private health: SocketHealth = { connected: false, heardAt: null, closed: null };

  constructor(
    readonly baseUrl: string,
    private bearerToken: string,
    private readonly options: OrreryClientOptions = {},
  ) {}

  get socketHealth(): Readonly<SocketHealth> {
    return this.health;
  }

  get token(): string {
    return this.bearerToken;
  }

  setToken(token: string): void {
    this.bearerToken = token;
    void this.disposeSocket();
  }

  async request<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, requestId?: string): Promise<T> {
    const res = await fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${this.bearerToken}`,
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: GraphqlRequestError['errors'] };
    if (body.errors?.length) {
      throw new GraphqlRequestError(body.errors.map((e) => e.message).join('; '), body.errors, res.status);
    }
    if (!res.ok || !body.data) throw new GraphqlRequestError(`HTTP ${res.status}`, [], res.status);
    return body.data;
  }

  /**
   * The same operation over the subscription socket: no connection, HTTP parse or header round per
   * call, which matters for agents that report every few seconds. Fails after `timeoutMs` when the
   * socket cannot deliver it (the client keeps reconnecting underneath).
   */
  async requestOverSocket<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const it = this.wsClient().iterate<T>({ query, variables });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GraphqlRequestError(`no answer over the socket within ${timeoutMs} ms`, [], 0)), timeoutMs);
    });
    try {
      const answer = it.next();
      answer.catch(() => {}); // after a timeout, the closing socket rejects it with nobody waiting
      const r = await Promise.race([answer, timeout]).catch((e: unknown) => {
        // graphql-ws rejects with the operation's errors (as the server's `error` message sends them)
        if (Array.isArray(e)) throw new GraphqlRequestError(e.map((x: { message: string }) => x.message).join('; '), e, 0);
        throw e;
      });
      const result = r.value as { data?: T; errors?: GraphqlRequestError['errors'] } | undefined;
      if (result?.errors?.length) {
        throw new GraphqlRequestError(result.errors.map((e) => e.message).join('; '), result.errors, 0);
      }
      if (!result?.data) throw new GraphqlRequestError('the socket closed without an answer', [], 0);
      return result.data;
    } finally {
      clearTimeout(timer);
      it.return?.().catch(() => {}); // ends the operation; a socket closing under it is no news
    }
  }

  private wsClient(): Client {
    this.ws ??= createClient({
      url: this.baseUrl.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.bearerToken}` },
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async (n) => new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** n))),
      lazy: true,
      // graphql-ws closes a lazy socket the moment its last operation ends (by default): an agent's
      // reportHost before its subscriptions would cost a second connection (and authentication).
      lazyCloseTimeout: LAZY_CLOSE_MS,
      keepAlive: this.options.keepAliveMs ?? 0,
      on: {
        connected: () => {
          this.health = { connected: true, heardAt: Date.now(), closed: null };
        },
        message: () => {
          this.health.heardAt = Date.now();
        },
        closed: (event) => {
          const { code, reason } = event as { code?: number; reason?: string };
          this.health = { ...this.health, connected: false, closed: `closed (${code ?? '?'}${reason ? `: ${reason}` : ''})` };
        },
      },
    });
    return this.ws;
  }

  /** Subscribes; returns an async iterator of `data` payloads. Errors end the iteration with a throw. */
  subscribe<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): AsyncIterableIterator<T> {
    const it = this.wsClient().iterate<T>({ query, variables });
    const out: AsyncIterableIterator<T> = {
      [Symbol.asyncIterator]: () => out,
      next: async () => {
        const r = await it.next();
        if (r.done) return { done: true, value: undefined };
        if (r.value.errors?.length) {
          throw new GraphqlRequestError(r.value.errors.map((e) => e.message).join('; '), r.value.errors as never, 0);
        }
        return { done: false, value: r.value.data as T };
      },
      return: async () => {
        await it.return?.();
        return { done: true, value: undefined };
      },
    };
    return out;
  }

  async close(): Promise<void> {
    await this.disposeSocket();
  }

  /** graphql-ws's dispose rejects with the last close event when the socket never connected; closing is all we want. */
  private async disposeSocket(): Promise<void> {
    const ws = this.ws;
    this.ws = undefined;
    await Promise.resolve(ws?.dispose()).catch(() => {});
  }
}
