import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleClose } from '../core/console-close.ts';
import type { AgentProcess } from './support/agent-process.ts';
import { ConsoleSocket, rfbHandshake } from './support/console-socket.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, instanceRow, waitFor } from './support/fixtures.ts';
import { GUEST_BOOTED, GUEST_MEMORY_MB, testGuest } from './support/guest.ts';
import { uploadImage } from './support/images.ts';
import { startLibvirtAgent, stopLibvirtAgent, type LibvirtAgent } from './support/libvirt-agent.ts';
import { libvirtUnavailable, virsh } from './support/libvirt.ts';

const unavailable = await libvirtUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the libvirt console tests: ${unavailable} ***\n`);

const HOST = `consoles-${process.pid}`;
const BOOT_MS = 120_000;

// Moves are covered on the fake driver (test/consoles-fake.test.ts): the console path after a
// move is the same code, and two real hosts would double this file's time.
describe.skipIf(unavailable !== null)('consoles of a real guest through the proxy', () => {
  let tcp: TestControlPlane;
  let host: LibvirtAgent | undefined;
  let agent: AgentProcess;
  let id = '';

  const createConsole = async (type: 'VNC' | 'SERIAL') => {
    const d = await tcp.admin.request(
      `mutation($i: ID!, $t: ConsoleType!) { createConsole(instance: $i, type: $t) { __typename
         ... on CreateConsoleSuccess { console { url } } ... on Error { message } } }`,
      { i: id, t: type },
    );
    expect(d.createConsole.__typename).toBe('CreateConsoleSuccess');
    return d.createConsole.console.url as string;
  };
  const tokenRow = async (url: string) =>
    (await tcp.db.sql<{ host_id: string; used_at: Date | null; host_connected_at: Date | null }[]>`
      select host_id, used_at, host_connected_at from console_tokens
       where token_hash = ${createHash('sha256').update(new URL(url).searchParams.get('token')!).digest()}`)[0];
  const withLog = (e: unknown) => {
    throw new Error(`${(e as Error).message}\nagent log:\n${agent.log()}`);
  };

  beforeAll(async () => {
    tcp = await startTestControlPlane();
    const guest = await testGuest();
    await uploadImage(tcp, guest.imagePath, guest.checksum, 'tiny-guest');
    await createFlavor(tcp.admin, 'tiny', 1, GUEST_MEMORY_MB, 1);
    host = await startLibvirtAgent(tcp, HOST, 'orrery-consoles-agent-');
    ({ agent } = host);
    const made = await createInstance(tcp.admin, { name: 'console-vm', flavor: 'tiny', image: 'tiny-guest' });
    id = made.instance.id;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active' && r.power_state === 'running', BOOT_MS).catch(withLog);
    const consoleOutput = async () =>
      (await tcp.admin.request(`query($id: ID!) { consoleOutput(instanceId: $id, lines: 200) { output } }`, { id })).consoleOutput?.output ?? '';
    await waitFor('the guest booted', consoleOutput, (o) => o.includes(GUEST_BOOTED), BOOT_MS).catch(withLog);
  }, 300_000);

  afterAll(async () => {
    await stopLibvirtAgent(host, [id]);
    await tcp?.stop();
  });

  it("speaks RFB with the guest's QEMU VNC server, which stays on the host's loopback", async () => {
    expect(await virsh('dumpxml', id)).toMatch(/<graphics type='vnc' port='\d+' autoport='yes' listen='127\.0\.0\.1'>/);
    const url = await createConsole('VNC');
    const s = await ConsoleSocket.open(url, { protocols: ['binary'] });
    const rfb = await rfbHandshake(s, { w: 16, h: 16 }).catch(withLog);
    expect(rfb.serverVersion).toBe('RFB 003.008\n');
    expect(rfb.securityTypes).toContain(1);
    expect(rfb.width).toBeGreaterThanOrEqual(640);
    expect(rfb.height).toBeGreaterThanOrEqual(400);
    expect(rfb.bitsPerPixel).toBe(32);
    expect(rfb.name).toBe(`QEMU (${id})`);
    expect(rfb.rects.length).toBeGreaterThan(0);
    expect(rfb.rects[0]).toMatchObject({ x: 0, y: 0, encoding: 0 });
    const row = await tokenRow(url);
    expect(row!.used_at).not.toBeNull();
    expect(row!.host_connected_at).not.toBeNull();
    await s.close();
  }, 60_000);

  it("runs a command in the guest's shell over its serial pty and reads the answer", async () => {
    const url = await createConsole('SERIAL');
    const s = await ConsoleSocket.open(url);
    // The shell may still be starting behind the boot line: ask again until it answers.
    const answered = /(^|\n)42\r?\n/;
    const deadline = Date.now() + 45_000;
    while (!answered.test(s.received.toString('latin1'))) {
      if (Date.now() > deadline) withLog(new Error(`no answer on the serial console; got ${JSON.stringify(s.received.toString('latin1').slice(-500))}`));
      s.send('echo $((6*7))\n');
      await s.text(answered, 5_000).catch(() => {});
    }
    expect(s.received.toString('latin1')).toMatch(/echo \$\(\(6\*7\)\)/);
    await s.close();
    // The same token cannot open it twice.
    expect((await ConsoleSocket.refusal(url)).code).toBe(ConsoleClose.gone);
  }, 60_000);
});
