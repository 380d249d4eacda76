import type { WebSocket } from 'ws';
import { closeReason } from '../core/console-close.ts';

/** Close codes a peer may be sent: 1005/1006 only describe a socket that went away. */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * Relays a client's socket and its host's, both ways, until either closes; the other is closed
 * with the same code and reason, so a host's "cannot open the serial console" reaches the client
 * as the host said it. `early` is what the client sent while it waited.
 */
export function pairSockets(
  client: WebSocket,
  host: WebSocket,
  early: { data: Buffer; binary: boolean }[],
  onEnd: (reason: string) => void,
): void {
  for (const m of early) host.send(m.data, { binary: true });
  client.on('message', (data: Buffer) => host.send(data, { binary: true }));
  // Whatever the host sends is bytes of the guest's console: always binary frames (noVNC's "binary").
  host.on('message', (data: Buffer) => client.send(data, { binary: true }));
  let ended = false;
  const closed = (from: 'client' | 'host', peer: WebSocket) => (code: number, reason: Buffer) => {
    if (ended) return;
    ended = true;
    const why = reason.toString() || `the ${from} hung up`;
    if (peer.readyState === peer.OPEN || peer.readyState === peer.CONNECTING) {
      peer.close(sendable(code) ? code : 1000, closeReason(why));
    }
    onEnd(`${from} closed (${code}): ${why}`);
  };
  client.once('close', closed('client', host));
  host.once('close', closed('host', client));
  client.on('error', () => client.terminate());
  host.on('error', () => host.terminate());
}
