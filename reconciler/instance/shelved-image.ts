import { rm } from 'node:fs/promises';
import type { TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { imageFile } from '../../store/image-blobs.ts';
import type { ReconcileDeps } from './result.ts';

/**
 * Once an unshelved instance runs again (or a shelved one is deleted) its shelve snapshot has
 * served, and goes from the catalogue as Nova deletes it. The file goes after the row; a file
 * left behind by a crash between the two is unreachable and harmless.
 */
export async function dropShelvedImage(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<void> {
  if (!inst.shelved_image_id) return;
  await tx`update instances set shelved_image_id = null where id = ${inst.id}`;
  const still = await tx`select 1 from instances where image_id = ${inst.shelved_image_id} or shelved_image_id = ${inst.shelved_image_id}`;
  if (still.length > 0) return;
  await tx`delete from images where id = ${inst.shelved_image_id}`;
  await rm(imageFile(deps.config.dataDir, inst.shelved_image_id), { force: true });
}
