import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../store/tokens.ts';
import { ConsoleSocket, rfbHandshake } from './support/console-socket.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let cwd: string;
let token: string;
let id: string;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'orrery-cli-console-'));
  tcp = await startTestControlPlane({ config: { dataDir: path.join(cwd, 'data') } });
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  await createFlavor(tcp.admin, 'm1.tiny', 1, 256, 1);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'cc-1' }]);
  const u = await tcp.userClient('cc-project', 'cc-user', ['member']);
  token = (await issueToken(tcp.db.sql, { kind: 'user', userId: u.userId, projectId: u.projectId })).secret;
  const made = await createInstance(u.client, { name: 'term', flavor: 'm1.tiny', image: 'test-image' });
  id = made.instance.id;
  await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.power_state === 'running');
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
  await rm(cwd, { recursive: true, force: true });
});

function orrery(args: string[], input?: (write: (s: string) => void, out: () => string) => Promise<void>) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ORRERY_API: tcp.url, ORRERY_TOKEN: token }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const feeding = input ? input((s) => child.stdin.write(s), () => stdout) : Promise.resolve(child.stdin.end());
  return Promise.all([feeding, new Promise<number | null>((r) => child.once('exit', r))]).then(([, code]) => ({ code, stdout, stderr }));
}

const until = (what: string, ok: () => boolean) => waitFor(what, async () => ok(), (v) => v, 15_000);

describe('orrery console', () => {
  it('url prints a one-time WebSocket URL of the named instance, which a VNC client opens', async () => {
    const r = await orrery(['console', 'url', 'term']);
    expect(r.stderr).toMatch(/usable once, until \d{4}-/);
    expect(r.code).toBe(0);
    const url = r.stdout.trim();
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/consoles\/websocket\?token=orr_c_/);
    const hash = createHash('sha256').update(new URL(url).searchParams.get('token')!).digest();
    expect(await tcp.db.sql`select kind, instance_id from console_tokens where token_hash = ${hash}`).toEqual([{ kind: 'vnc', instance_id: id }]);
    const s = await ConsoleSocket.open(url, { protocols: ['binary'] });
    expect((await rfbHandshake(s)).name).toBe('orrery-fake');
    await s.close();
    const serial = await orrery(['console', 'url', id, '--type', 'serial']);
    expect(serial.code).toBe(0);
    const h2 = createHash('sha256').update(new URL(serial.stdout.trim()).searchParams.get('token')!).digest();
    expect(await tcp.db.sql`select kind from console_tokens where token_hash = ${h2}`).toEqual([{ kind: 'serial' }]);
  });

  it('url refuses a bad --type and an unknown instance', async () => {
    const bad = await orrery(['console', 'url', 'term', '--type', 'spice']);
    expect([bad.code, bad.stderr.trim()]).toEqual([1, 'error: --type must be vnc or serial, not "spice"']);
    const missing = await orrery(['console', 'url', 'nope']);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, 'error: instance "nope" not found']);
  });

  it('attach relays the terminal to the serial console until Ctrl-]', async () => {
    const r = await orrery(['console', 'attach', 'term'], async (write, out) => {
      await until('connected', () => hosts[0]!.driver.consolesOpened.some((c) => c.kind === 'serial'));
      write('echo $((6*7))\n');
      await until('the echo', () => out().includes('echo $((6*7))\n'));
      write('after\x1dnever sent');
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Connected to term (serial console). Escape character is ^]');
    // What follows Ctrl-] never leaves the terminal; what preceded it may be echoed before the close.
    expect(r.stdout).toMatch(/^echo \$\(\(6\*7\)\)\n(after)?$/);
    const [row] = await tcp.db.sql`select end_reason from console_tokens where kind = 'serial' and ended_at is not null order by used_at desc limit 1`;
    expect(row!.end_reason).toBe('client closed (1000): the user left');
  });
});
