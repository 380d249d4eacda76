import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const START_SCRIPT = fileURLToPath(new URL('../../scripts/start-libvirtd.sh', import.meta.url));
export const LIBVIRT_URI = 'qemu:///system';

/**
 * Why real-libvirt tests cannot run here, or null when they can. Starts the daemon with the
 * project's script when it is installed but not running (machines here have no systemd).
 */
export async function libvirtUnavailable(): Promise<string | null> {
  const answers = () => run('virsh', ['-c', LIBVIRT_URI, 'version'], { timeout: 10_000 }).then(() => true, () => false);
  if (await answers()) return null;
  try {
    await run('bash', [START_SCRIPT], { timeout: 30_000 });
  } catch (e) {
    return `libvirtd could not be started (${(e as Error).message.trim()}); run scripts/install-host-deps.sh`;
  }
  return (await answers()) ? null : `virsh cannot reach ${LIBVIRT_URI}`;
}

/** `virsh` as an operator would type it, for tests that check the world behind the driver's back. */
export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-q', '-c', LIBVIRT_URI, ...args], { timeout: 60_000 });
  return stdout.trim();
}

/** Polls until `check` holds; real state changes take seconds under TCG. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills libvirtd (by its pid file; the project's script started it) and starts it again; guests survive. */
export async function restartLibvirtd(): Promise<void> {
  const pid = Number(await readFile('/run/libvirtd.pid', 'utf8'));
  process.kill(pid, 'SIGTERM');
  await waitFor('libvirtd to exit', async () => !existsSync(`/proc/${pid}`), 20_000);
  await run('bash', [START_SCRIPT], { timeout: 30_000 });
}
