import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DriverError } from '../driver.ts';

const run = promisify(execFile);

/**
 * Writes Nova's config drive: an ISO 9660 image labelled config-2 holding `files`, with Rock Ridge
 * and Joliet names (so `meta_data.json` keeps its case and length) as Nova's genisoimage call
 * makes it. Written beside the target and renamed, so a crash never leaves half an image.
 */
export async function writeConfigDrive(files: Map<string, Buffer>, isoPath: string): Promise<void> {
  const staging = await mkdtemp(`${isoPath}.tree-`);
  try {
    for (const [rel, bytes] of files) {
      const file = path.join(staging, rel);
      if (!file.startsWith(staging + path.sep)) throw new Error(`config drive path escapes its tree: ${rel}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    }
    const tmp = `${isoPath}.tmp`;
    try {
      await run('genisoimage', ['-o', tmp, '-V', 'config-2', '-r', '-J', '-l', '-ldots', '-allow-lowercase', '-allow-multidot',
        '-input-charset', 'utf-8', '-quiet', staging]);
    } catch (e) {
      const err = e as Error & { code?: string; stderr?: string };
      const why = err.code === 'ENOENT' ? 'genisoimage is not installed on this host (Debian: genisoimage)' : (err.stderr ?? err.message);
      throw new DriverError(`cannot build the config drive: ${why}`, 'config_drive_failed');
    }
    await rename(tmp, isoPath);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
