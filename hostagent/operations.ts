import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AssignedInstance, ImageToFetch } from './api.ts';
import { DriverError, type DomainSize, type HypervisorDriver } from './drivers/driver.ts';

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

/** Shut down cleanly first: the copy is what the instance boots from, unshelved or on its new host. */
async function copyOut(d: OperationDeps, inst: AssignedInstance, imageId: string): Promise<void> {
  await d.driver.stop(inst.id, d.stopTimeoutMs);
  return snapshotTo(d, inst, imageId);
}

function sizeOf(inst: AssignedInstance): DomainSize {
  return { vcpus: inst.vcpus, memoryMb: inst.memoryMb, diskGb: inst.diskGb };
}

async function resizeInPlace(d: OperationDeps, inst: AssignedInstance): Promise<void> {
  await d.driver.stop(inst.id, d.stopTimeoutMs);
  return d.driver.resizeInPlace(inst.id, sizeOf(inst), inst.powerState === 'running');
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
    case 'resize':
      // A resize with no transfer image to write stays on this host (the spec already carries the
      // new flavor); one to another host starts as a migration does.
      return op.imageId ? copyOut(d, inst, op.imageId) : resizeInPlace(d, inst);
    case 'shelve':
    case 'migrate':
      return copyOut(d, inst, op.imageId!);
    // Only a resize in place is settled on its host; the spec carries the flavor to go back to.
    case 'revertResize':
      await d.driver.stop(inst.id, d.stopTimeoutMs);
      return d.driver.revertResizeInPlace(inst.id, sizeOf(inst), inst.powerState === 'running');
    case 'confirmResize':
      return d.driver.confirmResizeInPlace(inst.id);
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
