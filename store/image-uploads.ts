import { rename } from 'node:fs/promises';
import { virtualSizeOf } from '../core/image-disk.ts';
import type { Sql } from '../db/connect.ts';
import { imageFile, type ReceivedFile } from './image-blobs.ts';
import type { ImageRow } from './rows.ts';

/**
 * An upload whose server died leaves its image `saving`; past this age another upload may take
 * it over, so no image stays stuck. Two live uploads are still safe: the first to finish wins.
 */
const STALE_UPLOAD_MINUTES = 60;

/** Marks a queued image of the project as `saving`; undefined when it is not in a state to take a file. */
export async function claimUpload(sql: Sql, imageId: string, projectId: string): Promise<ImageRow | undefined> {
  const [row] = await sql<ImageRow[]>`
    update images set status = 'saving', updated_at = now()
     where id = ${imageId} and owner_project_id = ${projectId}
       and (status = 'queued'
            or (status = 'saving' and updated_at < now() - make_interval(mins => ${STALE_UPLOAD_MINUTES})))
    returning *`;
  return row;
}

/**
 * Moves the verified file into place and activates the image in one transaction: the row lock
 * orders it against a delete or a second upload, and the file is renamed only while the image
 * is still ours to fill. Returns undefined (and moves nothing) when it no longer is.
 */
export async function finishUpload(sql: Sql, dataDir: string, imageId: string, file: ReceivedFile): Promise<ImageRow | undefined> {
  return sql.begin(async (tx) => {
    const [row] = await tx<ImageRow[]>`
      update images set status = 'active', size_bytes = ${file.size}, checksum = ${file.sha256}, updated_at = now(),
             virtual_size_bytes = case disk_format when 'raw' then ${virtualSizeOf('raw', file.head, file.size)}::bigint
                                                   else ${virtualSizeOf('qcow2', file.head, file.size)}::bigint end
       where id = ${imageId} and status = 'saving'
      returning *`;
    if (row) await rename(file.path, imageFile(dataDir, imageId));
    return row;
  });
}

/** The project of the instance on this host whose running snapshot or shelve writes `imageId`. */
export async function snapshotProjectOnHost(sql: Sql, hostId: string, imageId: string): Promise<string | undefined> {
  const [row] = await sql<{ project_id: string }[]>`
    select i.project_id from instances i join instance_actions a on a.id = i.current_action_id
     where i.host_id = ${hostId} and a.action in ('snapshot', 'shelve', 'migrate', 'resize') and a.params->>'imageId' = ${imageId}`;
  return row?.project_id;
}

/** A failed upload leaves nothing behind: the image is queued again for the next try. */
export async function releaseUpload(sql: Sql, imageId: string): Promise<void> {
  await sql`update images set status = 'queued', updated_at = now() where id = ${imageId} and status = 'saving'`;
}
