/**
 * Control-plane overhead of a boot on a real libvirtd: time from `createInstance` to the domain
 * running, against plain `qemu-img create` + `virsh define` + `virsh start` of the same domain on
 * the same machine, in the same run. Prints medians and their ratio.
 *
 *   npm run bench:boot [-- --runs 7]
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OrreryClient } from '../client/graphql.ts';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { HostAgent } from '../hostagent/agent.ts';
import { ensureOverlay, inspectImage } from '../hostagent/drivers/libvirt/disk.ts';
import { buildDomainXml } from '../hostagent/drivers/libvirt/domain-xml.ts';
import { LibvirtDriver } from '../hostagent/drivers/libvirt/driver.ts';
import { detectVirtType } from '../hostagent/drivers/libvirt/virt-type.ts';
import { cachedImages } from '../hostagent/instance-images.ts';
import { startControlPlane } from '../server/control-plane.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { issueToken } from '../store/tokens.ts';
import { GUEST_MEMORY_MB, testGuest } from '../test/support/guest.ts';
import { median, parseRuns, printTable } from './stats.ts';

const run = promisify(execFile);
const virsh = (...args: string[]) => run('virsh', ['-q', '-c', 'qemu:///system', ...args]);

async function waitRunning(id: string): Promise<void> {
  for (;;) {
    const state = await virsh('domstate', id).then((r) => r.stdout.trim(), () => '');
    if (state === 'running') return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main() {
  const runs = parseRuns(process.argv, 5);
  const work = await mkdtemp(path.join(os.tmpdir(), 'orrery-bench-boot-'));
  const log = rootLog();
  let databaseUrl = process.env.DATABASE_URL;
  let stopDb = async () => {};
  if (!databaseUrl) {
    await run('chmod', ['755', work]);
    const db = await startEmbeddedPostgres(path.join(work, 'pg'), { durable: false });
    databaseUrl = db.url;
    stopDb = db.stop;
  }
  const config = loadConfig({ port: 0, dataDir: path.join(work, 'data') });
  const cp = await startControlPlane({ config, databaseUrl, api: true, worker: true, log });
  const boot = await bootstrapAdmin(cp.sql);
  const admin = new OrreryClient(cp.url!, boot.adminToken!);
  const guest = await testGuest();

  const img = await admin.request(
    `mutation($i: ImageInput!) { createImage(input: $i) { ... on CreateImageSuccess { image { id } } } }`,
    { i: { name: 'bench-guest', diskFormat: 'qcow2', visibility: 'public', checksum: guest.checksum } },
  );
  const imageId = img.createImage.image.id as string;
  const { readFile } = await import('node:fs/promises');
  const up = await fetch(`${cp.url}/images/${imageId}/file`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin.token}` },
    body: await readFile(guest.imagePath),
  });
  if (!up.ok) throw new Error(`upload failed: ${up.status}`);
  await admin.request(`mutation { createFlavor(input: {name: "bench", vcpus: 1, ramMb: ${GUEST_MEMORY_MB}, diskGb: 1}) { __typename } }`);

  const enrollment = await issueToken(cp.sql, { kind: 'enrollment' });
  const driver = new LibvirtDriver({ instancesDir: path.join(work, 'agent', 'instances') });
  const images = cachedImages(path.join(work, 'agent', 'images'), { inspect: inspectImage });
  const agent = new HostAgent({
    apiUrl: cp.url!, name: 'bench-host', driver, log, stateDir: path.join(work, 'agent'),
    enrollmentToken: enrollment.secret, heartbeatSeconds: 2, imagePath: images.imagePath,
  });
  await agent.start();
  // The baseline's domains carry Orrery's metadata too; the agent must not remove them as orphans.
  await admin.request(`mutation { updateHost(ref: "bench-host", input: {orphanPolicy: "keep"}) { __typename } }`);

  const orrery = async (): Promise<{ running: number; active: number }> => {
    const t0 = performance.now();
    const d = await admin.request(
      `mutation { createInstance(input: {name: "bench", flavor: "bench", image: "bench-guest"}) { ... on CreateInstanceSuccess { instance { id } } } }`,
    );
    const id = d.createInstance.instance.id as string;
    await waitRunning(id);
    const running = performance.now() - t0;
    for (;;) {
      const s = await admin.request(`query($id: ID!) { instance(id: $id) { status } }`, { id });
      if (s.instance.status === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const active = performance.now() - t0;
    await admin.request(`mutation($id: ID!) { deleteInstance(id: $id) { __typename } }`, { id });
    while ((await admin.request(`query($id: ID!) { instance(id: $id) { id } }`, { id })).instance) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return { running, active };
  };

  const virtType = await detectVirtType();
  const plain = async (): Promise<number> => {
    const id = randomUUID();
    const dir = path.join(work, 'plain', id);
    const t0 = performance.now();
    await mkdir(dir, { recursive: true });
    const disk = path.join(dir, 'disk');
    await ensureOverlay({ path: disk, backingPath: guest.imagePath, backingFormat: 'qcow2', sizeGb: 1 });
    const spec = {
      instanceId: id, name: 'plain', generation: 1, imageId, vcpus: 1, memoryMb: GUEST_MEMORY_MB, diskGb: 1,
      imagePath: guest.imagePath, imageFormat: 'qcow2' as const, imageProperties: {}, userData: null, metadata: {}, interfaces: [], configDrive: null,
    };
    await writeFile(path.join(dir, 'domain.xml'), buildDomainXml(spec, { diskPath: disk, consoleLogPath: path.join(dir, 'console.log'), guestAgentSocketPath: path.join(dir, 'guest-agent.sock'), configDrivePath: path.join(dir, 'disk.config') }, virtType));
    await virsh('define', path.join(dir, 'domain.xml'));
    await virsh('start', id);
    await waitRunning(id);
    const took = performance.now() - t0;
    await virsh('destroy', id);
    await virsh('undefine', id);
    await rm(dir, { recursive: true, force: true });
    return took;
  };

  process.stderr.write('warming up (image download into the host cache, first define)…\n');
  await orrery();
  await plain();
  const o: { running: number; active: number }[] = [];
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`run ${i + 1}/${runs}\r`);
    o.push(await orrery());
    p.push(await plain());
  }
  process.stderr.write('\n');
  const oRun = median(o.map((x) => x.running));
  const oActive = median(o.map((x) => x.active));
  const base = median(p);
  printTable(`Boot overhead on ${os.cpus().length} cores, libvirt ${virtType}, ${runs} runs each (median ms)`, [
    ['plain qemu-img + virsh define + start → running', base.toFixed(0), '1.00×'],
    ['Orrery createInstance → domain running', oRun.toFixed(0), `${(oRun / base).toFixed(2)}×`],
    ['Orrery createInstance → API status ACTIVE', oActive.toFixed(0), `${(oActive / base).toFixed(2)}×`],
  ]);

  await agent.stop();
  await driver.close();
  await admin.close();
  await cp.stop();
  await stopDb();
  await rm(work, { recursive: true, force: true });
}

await main();
