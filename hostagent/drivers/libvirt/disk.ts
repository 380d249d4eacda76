import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, copyFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DriverError } from '../driver.ts';

const run = promisify(execFile);
const GiB = 1024 ** 3;

export interface OverlaySpec {
  path: string;
  /** The cached image the overlay reads from; null for a blank disk. */
  backingPath: string | null;
  backingFormat: 'qcow2' | 'raw';
  sizeGb: number;
}

/**
 * Creates the instance's qcow2 disk unless it exists: an overlay on the cached image, as large as
 * the flavor's disk. An image larger than a flavor's disk is refused (Nova's
 * FlavorDiskSmallerThanImage: a larger disk would use more than the host's claim holds); a 0 GiB
 * flavor, or a rescue disk, takes the image's size. Written under a temporary name and renamed,
 * so a crash never leaves a half-made disk that a retry would then take for done.
 */
export async function ensureOverlay(spec: OverlaySpec): Promise<void> {
  if (await exists(spec.path)) return;
  let size = spec.sizeGb * GiB;
  const backing: string[] = [];
  if (spec.backingPath) {
    const abs = path.resolve(spec.backingPath);
    const imageSize = await virtualSize(abs, spec.backingFormat);
    if (size > 0 && imageSize > size) {
      throw new DriverError(`the flavor's ${spec.sizeGb} GiB disk is smaller than the image (${(imageSize / GiB).toFixed(2)} GiB virtual size)`,
        'flavor_disk_too_small');
    }
    size = Math.max(size, imageSize);
    backing.push('-b', abs, '-F', spec.backingFormat);
  }
  const tmp = `${spec.path}.tmp`;
  await rm(tmp, { force: true });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', ...backing, tmp, String(size)]);
  await rename(tmp, spec.path);
}

/** A standalone qcow2 copy of a disk and its backing chain, written under a temporary name first. */
export async function copyDisk(source: string, destPath: string): Promise<void> {
  const tmp = `${destPath}.tmp`;
  await rm(tmp, { force: true });
  await run('qemu-img', ['convert', '-U', '-q', '-f', 'qcow2', '-O', 'qcow2', source, tmp]);
  await rename(tmp, destPath);
}

/**
 * Keeps a byte copy of a (stopped) disk unless one exists: the overlay as it is, still reading the
 * same cached base image. A reflink where the file system offers one; written under a temporary
 * name and renamed, so an existing backup is always whole.
 */
export async function keepBackup(disk: string, backup: string): Promise<void> {
  if (await exists(backup)) return;
  const tmp = `${backup}.tmp`;
  await rm(tmp, { force: true });
  await copyFile(disk, tmp, constants.COPYFILE_FICLONE);
  await rename(tmp, backup);
}

/** Puts the backup back in the disk's place (one rename); with no backup left it was done already. */
export async function restoreBackup(backup: string, disk: string): Promise<void> {
  if (await exists(backup)) await rename(backup, disk);
}

export async function dropBackup(backup: string): Promise<void> {
  await rm(`${backup}.tmp`, { force: true });
  await rm(backup, { force: true });
}

/** Grows a (stopped) qcow2 disk to `sizeGb`; a disk already that large or larger is left alone. */
export async function growDisk(disk: string, sizeGb: number): Promise<void> {
  const size = sizeGb * GiB;
  if ((await virtualSize(disk, 'qcow2')) >= size) return;
  await run('qemu-img', ['resize', '-q', '-f', 'qcow2', disk, String(size)]);
}

/** -U: the image is shared read-only by running guests; reading its header needs no lock. */
async function virtualSize(file: string, format: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', '-f', format, file]);
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Refuses a downloaded image that is not what its record says. A file claimed to be raw but
 * carrying a qcow2 header, or a qcow2 naming a backing or data file, would let an image's
 * author make the host open files of their choosing (Nova checks the same).
 */
export async function inspectImage(file: string, format: 'qcow2' | 'raw'): Promise<void> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', file]);
  const info = JSON.parse(stdout) as {
    format: string;
    'backing-filename'?: string;
    'format-specific'?: { data?: { 'data-file'?: string } };
  };
  if (info.format !== format) {
    throw new Error(`image is ${info.format}, not the ${format} its record says`);
  }
  if (info['backing-filename'] || info['format-specific']?.data?.['data-file']) {
    throw new Error('image refers to another file (backing or data file)');
  }
}
