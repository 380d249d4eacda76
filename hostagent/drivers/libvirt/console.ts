import { constants, open } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tty from 'node:tty';
import { promisify } from 'node:util';
import { DriverError } from '../driver.ts';

/** Where a running domain's VNC server listens, from its live XML (autoport picks the port at start). */
export function vncEndpoint(liveXml: string): { host: string; port: number } | null {
  const graphics = /<graphics\b[^>]*\btype='vnc'[^>]*>/.exec(liveXml)?.[0];
  const port = Number(/\bport='(-?\d+)'/.exec(graphics ?? '')?.[1] ?? -1);
  if (!graphics || port <= 0) return null;
  return { host: /\blisten='([^']+)'/.exec(graphics)?.[1] ?? '127.0.0.1', port };
}

/** The pty a running domain's first serial port is on, from its live XML. */
export function serialPty(liveXml: string): string | null {
  const serial = /<serial type='pty'>([\s\S]*?)<\/serial>/.exec(liveXml)?.[1] ?? '';
  const path = /<source path='([^']+)'/.exec(serial)?.[1];
  // Only a pseudo-terminal: the path comes from libvirt, but it is opened read-write as root.
  return path && /^\/dev\/pts\/\d+$/.test(path) ? path : null;
}

/** Opens the domain's console on this host: a TCP socket to its loopback VNC port, or its serial pty. */
export async function openDomainConsole(liveXml: string, instanceId: string, kind: 'vnc' | 'serial'): Promise<Duplex> {
  if (kind === 'vnc') {
    const at = vncEndpoint(liveXml);
    if (!at) throw new DriverError(`domain ${instanceId} has no VNC server listening (is it running?)`, 'invalid_state');
    return connect(at.host, at.port);
  }
  const path = serialPty(liveXml);
  if (!path) throw new DriverError(`domain ${instanceId} has no serial pty (is it running?)`, 'invalid_state');
  // O_NOCTTY: the agent must never take the guest's terminal as its own controlling terminal.
  // A plain descriptor (not a FileHandle, which would close it when collected): the stream owns it.
  const fd = await promisify(open)(path, constants.O_RDWR | constants.O_NOCTTY);
  // A tty stream reads without holding a libuv thread, and writes too. Raw, so no line discipline
  // on this side echoes the guest's output back into it or cooks what the client types.
  const stream = new tty.ReadStream(fd);
  stream.setRawMode(true);
  return stream;
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
