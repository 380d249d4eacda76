import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { libvirtUnavailable } from './libvirt.ts';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./two-libvirt-hosts.sh', import.meta.url));

/** Brings up two-libvirt-hosts.sh's two hosts: their libvirt URIs, or why they cannot run here. */
export async function twoLibvirtHosts(): Promise<{ uris: string[] } | { unavailable: string }> {
  const why = await libvirtUnavailable();
  if (why) return { unavailable: why };
  try {
    const { stdout } = await run('bash', [FIXTURE, 'up'], { timeout: 120_000 });
    return { uris: stdout.trim().split('\n') };
  } catch (e) {
    return { unavailable: `two libvirt hosts could not start: ${(e as Error).message}` };
  }
}

/** Takes the two hosts down again. */
export async function twoLibvirtHostsDown(): Promise<void> {
  await run('bash', [FIXTURE, 'down']).catch(() => {});
}
