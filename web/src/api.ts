import { createClient, type Client } from 'graphql-ws';
import { session } from './session.ts';

export class ApiError extends Error {}

/** One GraphQL operation over HTTP with the session's token. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = session.token()): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? ''}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join('; '));
  if (!res.ok || !body.data) throw new ApiError(`HTTP ${res.status}`);
  return body.data;
}

let socket: Client | undefined;
let connected = false;

/** The one subscription socket of the page, authenticated like the HTTP requests. */
function ws(): Client {
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => ({ authorization: `Bearer ${session.token() ?? ''}` }),
    retryAttempts: Infinity,
    on: {
      connected: () => (connected = true),
      closed: () => (connected = false),
    },
  });
  return socket;
}

/** Closes the socket (at log-out), so the next one carries the next token. */
export function closeSocket(): void {
  void socket?.dispose();
  socket = undefined;
  connected = false;
}

/**
 * Subscribes and calls `onData` for each event; `onConnected` runs once the server has the
 * subscription's socket, so a snapshot read after it misses no change. Returns the unsubscribe.
 */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (message: string) => void,
  onConnected?: () => void,
): () => void {
  const client = ws();
  // Again after each reconnect: changes made while the socket was down were never pushed.
  const off = onConnected ? client.on('connected', onConnected) : () => {};
  if (onConnected && connected) queueMicrotask(onConnected);
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors?.length) onError(r.errors.map((e) => e.message).join('; '));
        else if (r.data) onData(r.data);
      },
      error: (e) => onError(e instanceof Error ? e.message : 'the subscription failed'),
      complete: () => {},
    },
  );
  return () => {
    off();
    stop();
  };
}

/** A mutation's union result: its success, or the typed error's message thrown. */
export function unwrap<T extends { __typename: string; message?: string }>(result: T): T {
  if (!result.__typename.endsWith('Success')) throw new ApiError(result.message ?? result.__typename);
  return result;
}
