import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./netns-proxy.ts', import.meta.url));
/** The TypeScript loader the proxy runs under, as the agent does. */
const LOADER = import.meta.resolve('tsx');

/**
 * The metadata proxy of one service namespace, run like its dnsmasq: started when not running
 * (drift: killed behind our back), restarted when its arguments changed, stopped with the network.
 */
export async function ensureMetadataProxy(namespace: string, dir: string, networkId: string, socketPath: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const args = [process.execPath, '--import', LOADER, SCRIPT, networkId, socketPath];
  const running = await proxyPid(dir);
  if (running !== null && (await readText(`/proc/${running}/cmdline`)) === args.join('\0') + '\0') return;
  await stopMetadataProxy(dir);
  // `ip netns exec` execs the proxy: the pid it starts with is the proxy's.
  // Its errors (it cannot bind, say) go to a log beside its pid file.
  const log = await open(path.join(dir, 'metadata-proxy.log'), 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', namespace, ...args], { detached: true, stdio: ['ignore', log.fd, log.fd] });
    child.unref();
    await writeFile(path.join(dir, 'metadata-proxy.pid'), `${child.pid}\n`);
    await listening(child.pid!);
  } finally {
    await log.close();
  }
}

/** 169.254.169.254:80 in LISTEN state, as /proc/net/tcp writes it (address little-endian, state 0A). */
const LISTEN_LINE = /^\s*\d+: FEA9FEA9:0050 00000000:0000 0A /m;

/**
 * Waits until the proxy listens (read from its own namespace's socket table), so the ports it
 * serves are ready only once a guest's first request can be answered.
 */
async function listening(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const table = await readText(`/proc/${pid}/net/tcp`);
    if (LISTEN_LINE.test(table)) return;
    if (table === '') break; // it exited
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the metadata proxy (pid ${pid}) is not listening on 169.254.169.254:80: see metadata-proxy.log`);
}

export async function stopMetadataProxy(dir: string): Promise<void> {
  const pid = await proxyPid(dir);
  if (pid !== null) process.kill(pid, 'SIGTERM');
  await rm(path.join(dir, 'metadata-proxy.pid'), { force: true });
}

/** The running proxy of this folder, or null (its pid file may name a process long gone). */
async function proxyPid(dir: string): Promise<number | null> {
  const pid = Number((await readText(path.join(dir, 'metadata-proxy.pid'))).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return (await readText(`/proc/${pid}/cmdline`)).includes(SCRIPT) ? pid : null;
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}
