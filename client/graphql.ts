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

/** A small GraphQL client for the CLI, the host agent and tests: HTTP for operations, graphql-ws for subscriptions. */
export class OrreryClient {
  private ws?: Client;

  constructor(
    readonly baseUrl: string,
    private bearerToken: string,
  ) {}

  get token(): string {
    return this.bearerToken;
  }

  setToken(token: string): void {
    this.bearerToken = token;
    void this.ws?.dispose();
    this.ws = undefined;
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

  private wsClient(): Client {
    this.ws ??= createClient({
      url: this.baseUrl.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.bearerToken}` },
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async (n) => new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** n))),
      lazy: true,
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
    await this.ws?.dispose();
  }
}
