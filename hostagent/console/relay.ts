import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ConsoleClose, closeReason } from '../../core/console-close.ts';

/** Frames in flight before the local side is paused: a slow client slows the guest's console, never the agent's memory. */
const MAX_IN_FLIGHT = 32;

/**
 * Bytes both ways between the guest's console opened here and the session's socket to the proxy,
 * until either ends; each end closes the other.
 */
export function relay(local: Duplex, ws: WebSocket): void {
  let inFlight = 0;
  local.on('data', (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    inFlight++;
    if (inFlight >= MAX_IN_FLIGHT) local.pause();
    ws.send(chunk, { binary: true }, () => {
      inFlight--;
      if (local.isPaused() && inFlight < MAX_IN_FLIGHT / 2) local.resume();
    });
  });
  ws.on('message', (data: Buffer) => {
    if (!local.destroyed) local.write(data);
  });
  const hangUp = (code: number, reason: string) => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, closeReason(reason));
  };
  local.once('end', () => hangUp(ConsoleClose.normal, "the guest's console closed"));
  local.once('close', () => hangUp(ConsoleClose.normal, "the guest's console closed"));
  local.on('error', (e) => hangUp(ConsoleClose.hostFailed, `the guest's console failed: ${e.message}`));
  ws.once('close', () => local.destroy());
}
