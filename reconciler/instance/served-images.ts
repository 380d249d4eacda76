import { rm } from 'node:fs/promises';
import type { TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { imageFile } from '../../store/image-blobs.ts';
import type { ReconcileDeps } from './result.ts';

/**
 * Images that existed only to carry a disk somewhere (a shelve snapshot once unshelved, a move's
 * transfer once built on) go from the catalogue when they have served, as Nova deletes them. The
 * file goes after the row; a file left behind by a crash between the two is unreachable and harmless.
 */
export async function dropServedImage(tx: TxSql, imageId: string, deps: ReconcileDeps): Promise<void> {
  const still = await tx`select 1 from instances where image_id = ${imageId} or shelved_image_id = ${imageId}`;
  if (still.length > 0) return;
  await tx`delete from images where id = ${imageId}`;
  await rm(imageFile(deps.config.dataDir, imageId), { force: true });
}

export async function dropShelvedImage(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<void> {
  if (!inst.shelved_image_id) return;
  await tx`update instances set shelved_image_id = null where id = ${inst.id}`;
  await dropServedImage(tx, inst.shelved_image_id, deps);
}
