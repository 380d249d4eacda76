import type { Command } from 'commander';
import WebSocket from 'ws';
import { ConsoleClose } from '../../core/console-close.ts';
import { clientAction } from './action.ts';
import { withConnection, type Connection } from './connection.ts';
import { CliError, ERROR_FIELDS, unwrap } from './errors.ts';
import { instanceId } from './instance-ref.ts';

/** Ctrl-]: leaves the console, as in `virsh console` and telnet. */
const ESCAPE = 0x1d;
/** With input from a pipe, how long the guest's answer to the last of it is awaited before leaving. */
const AFTER_INPUT_MS = 1000;

async function createConsole(conn: Connection, ref: string, type: 'VNC' | 'SERIAL'): Promise<{ url: string; expiresAt: string }> {
  const id = await instanceId(conn.client, ref);
  const d = await conn.client.request(
    `mutation($i: ID!, $t: ConsoleType!) { createConsole(instance: $i, type: $t) {
       ${ERROR_FIELDS} ... on CreateConsoleSuccess { console { url expiresAt } } } }`,
    { i: id, t: type },
  );
  return unwrap<{ console: { url: string; expiresAt: string } }>(d.createConsole).console;
}

export function registerConsole(program: Command): void {
  const cmd = program.command('console').description("an instance's VNC or serial console (Nova's remote consoles)");
  withConnection(
    cmd.command('url').description('print a one-time console URL (a WebSocket; noVNC opens the VNC one)')
      .argument('<instance>', 'ID or name')
      .option('--type <type>', 'vnc or serial', 'vnc'),
  ).action(clientAction(async (conn, ref: string, o: { type: string }) => {
    const type = o.type.toLowerCase();
    if (type !== 'vnc' && type !== 'serial') throw new CliError(`--type must be vnc or serial, not ${JSON.stringify(o.type)}`);
    const c = await createConsole(conn, ref, type === 'vnc' ? 'VNC' : 'SERIAL');
    process.stdout.write(`${c.url}\n`);
    process.stderr.write(`usable once, until ${c.expiresAt}\n`);
  }));
  withConnection(
    cmd.command('attach').description("attach the terminal to an instance's serial console; Ctrl-] leaves")
      .argument('<instance>', 'ID or name'),
  ).action(clientAction(async (conn, ref: string) => {
    const c = await createConsole(conn, ref, 'SERIAL');
    await attach(c.url, conn.token, ref);
  }));
}

/** The terminal in raw mode, bytes both ways, until Ctrl-] (or the end of stdin, or the proxy closing). */
async function attach(url: string, token: string, ref: string): Promise<void> {
  // The user's token goes along: the proxy then also checks the console is of their project.
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  process.stderr.write(`Connected to ${ref} (serial console). Escape character is ^]\r\n`);
  if (raw) stdin.setRawMode(true);
  const onInput = (b: Buffer) => {
    const at = b.indexOf(ESCAPE);
    if (at >= 0) {
      if (at > 0) ws.send(b.subarray(0, at));
      ws.close(ConsoleClose.normal, 'the user left');
      return;
    }
    ws.send(b);
  };
  const onEnd = () => setTimeout(() => ws.close(ConsoleClose.normal, 'end of input'), AFTER_INPUT_MS);
  stdin.on('data', onInput);
  stdin.once('end', onEnd);
  ws.on('message', (d: Buffer) => process.stdout.write(d));
  try {
    const { code, reason } = await closed;
    if (code !== ConsoleClose.normal) throw new CliError(`console closed: ${reason || `code ${code}`} (${code})`);
  } finally {
    stdin.off('data', onInput);
    stdin.off('end', onEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\r\n');
  }
}
