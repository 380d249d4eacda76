import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL('./guest/build.sh', import.meta.url));

/** The tiny real guest: a bootable qcow2 disk image (SYSLINUX, Debian cloud kernel, busybox). */
export interface TestGuest {
  imagePath: string;
  imageFormat: 'qcow2';
  /** sha256 of the image file, as an Orrery image record carries it. */
  checksum: string;
}

/** Printed on the serial console once the guest's init is up (and ACPI is being listened to). */
export const GUEST_BOOTED = 'ORRERY-GUEST-BOOTED';
/** Memory the guest needs: 64 MiB does not boot the cloud kernel. */
export const GUEST_MEMORY_MB = 128;

let built: Promise<TestGuest> | undefined;

/** Builds the guest once per machine (cached in $ORRERY_GUEST_DIR or /var/cache/orrery-test-guest). */
export function testGuest(): Promise<TestGuest> {
  built ??= (async () => {
    const { stdout } = await run('bash', [BUILD_SCRIPT], { timeout: 300_000 });
    const imagePath = `${stdout.trim()}/guest.qcow2`;
    return { imagePath, imageFormat: 'qcow2', checksum: await sha256(imagePath) };
  })();
  return built;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
