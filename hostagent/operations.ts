import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AssignedInstance, ImageToFetch } from './api.ts';
import { DriverError, type HypervisorDriver } from './drivers/driver.ts';

export interface OperationDeps {
  driver: HypervisorDriver;
  stopTimeoutMs: number;
  /** Where snapshot files are written before their upload. */
  snapshotDir: string;
  /** Sends a snapshot file to the control plane as the bytes of image `imageId`. */
  upload(imageId: string, file: string): Promise<void>;
  /** Builds the domain afresh from the instance's image, in its desired power state. */
  rebuild(inst: AssignedInstance): Promise<void>;
  /** Local path of an image, downloaded and verified; null when the driver needs no image file. */
  imagePath(image: ImageToFetch): Promise<string | null>;
}

async function snapshotTo(d: OperationDeps, inst: AssignedInstance, imageId: string): Promise<void> {
  await mkdir(d.snapshotDir, { recursive: true });
  const file = path.join(d.snapshotDir, `${inst.id}-${imageId}.qcow2`);
  try {
    await d.driver.snapshot(inst.id, file);
    await d.upload(imageId, file);
  } finally {
    await rm(file, { force: true });
  }
}

/** Carries out one operation; the caller reports it completed (with the fault when this throws). */
export async function carryOut(d: OperationDeps, inst: AssignedInstance): Promise<void> {
  const op = inst.operation!;
  switch (op.kind) {
    case 'reboot':
      return d.driver.reboot(inst.id, op.hard ? 'hard' : 'soft', d.stopTimeoutMs);
    case 'rebuild':
      await d.driver.destroy(inst.id);
      return d.rebuild(inst);
    case 'snapshot':
      return snapshotTo(d, inst, op.imageId!);
    case 'shelve':
    case 'migrate':
    case 'resize':
      // Shut down cleanly first: the copy is what the instance boots from, unshelved or on its new host.
      await d.driver.stop(inst.id, d.stopTimeoutMs);
      return snapshotTo(d, inst, op.imageId!);
    case 'rescue': {
      const image = op.image!;
      return d.driver.rescue(inst.id, await d.imagePath(image), image.diskFormat);
    }
    case 'unrescue':
      return d.driver.unrescue(inst.id);
    case 'live-migrate': {
      const target = op.migration;
      if (!target) throw new DriverError('live migration without a destination', 'migration_failed');
      return d.driver.liveMigrate(inst.id, { uri: target.uri, prepared: Object.fromEntries(target.prepared.map((p) => [p.key, p.value])) });
    }
    default:
      throw new DriverError(`this agent cannot carry out ${op.kind}`, 'unsupported');
  }
}
