import { ConflictError, ForbiddenError, NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { imagePatchSchema, imageSpecSchema, type ImagePatch, type ImageSpec } from '../schema/documents/image.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { Image } from '../schema/types/image.ts';
import { removeImageFile } from '../store/image-blobs.ts';
import { isUuid } from '../store/instances.ts';
import { findImage } from '../store/references.ts';
import type { ImageRow } from '../store/rows.ts';
import { compact } from './compact.ts';
import { readScope, requireUser } from './scope.ts';
import { foreignKeyViolation } from './sql-errors.ts';

const ImageInput = builder.inputType('ImageInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    diskFormat: t.string({ required: true, description: 'qcow2 or raw' }),
    visibility: t.string({ description: 'private (default) or public (needs image:publicize)' }),
    checksum: t.string({ description: 'sha256 of the file to come, hex; the upload is refused if it differs' }),
    minDiskGb: t.int(),
    minRamMb: t.int(),
    properties: t.field({ type: [KeyValueInput] }),
  }),
});

const ImagePatchInput = builder.inputType('ImagePatch', {
  description: 'Absent fields stay as they are; given properties replace the whole map.',
  fields: (t) => ({
    name: t.string(),
    visibility: t.string(),
    minDiskGb: t.int(),
    minRamMb: t.int(),
    properties: t.field({ type: [KeyValueInput] }),
  }),
});

function checkPublicize(ctx: Context, visibility: string | undefined, current: string | null): void {
  if (visibility === 'public' && current !== 'public' && !ctx.policy.allows(ctx.principal, 'image:publicize')) {
    throw new ForbiddenError('publishing an image as public needs the image:publicize rule');
  }
}

/**
 * The image a write may change, locked: one the caller's project owns, or (with the
 * image:manage_all_projects rule) any, but then only by ID so a name never picks another project's.
 */
async function lockWritableImage(tx: TxSql, ctx: Context, ref: string): Promise<ImageRow> {
  const user = requireUser(ctx);
  const anyProject = ctx.policy.allows(ctx.principal, 'image:manage_all_projects');
  const found = (await findImage(tx, ref, user.projectId)) ?? (anyProject && isUuid(ref) ? await findImage(tx, ref, null) : undefined);
  if (!found) throw new NotFoundError('image', ref, 'ref');
  if (found.owner_project_id !== user.projectId && !anyProject) {
    throw new ForbiddenError(`image ${found.name} belongs to another project`);
  }
  const [row] = await tx<ImageRow[]>`select * from images where id = ${found.id} for update`;
  if (!row) throw new NotFoundError('image', ref, 'ref');
  return row;
}

builder.queryFields((t) => ({
  images: t.field({
    type: [Image],
    description: "Your project's images and public ones (every project's for admins who ask); a move's transfer images are left out.",
    args: { allProjects: t.arg.boolean() },
    authScopes: { policy: 'image:list' },
    resolve: (_r, { allProjects }, ctx) => {
      const project = readScope(ctx, allProjects, 'image:list_all_projects');
      return ctx.sql<ImageRow[]>`
        select * from images
         where (${project}::uuid is null or visibility = 'public' or owner_project_id = ${project}::uuid)
           -- A move's transfer image is the control plane's, as in findImage.
           and properties->>'image_type' is distinct from 'migration'
         order by name, created_at`;
    },
  }),
  image: t.field({
    type: Image,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }), allProjects: t.arg.boolean() },
    authScopes: { policy: 'image:list' },
    resolve: async (_r, { ref, allProjects }, ctx) =>
      (await findImage(ctx.sql, ref, readScope(ctx, allProjects, 'image:list_all_projects'))) ?? null,
  }),
}));

builder.mutationFields((t) => ({
  createImage: t.field({
    type: Image,
    description: 'A queued catalogue entry; PUT its file to fileUrl to make it active.',
    args: { input: t.arg({ type: ImageInput, required: true }) },
    authScopes: { policy: 'image:create' },
    errors: mutationErrors('CreateImage', 'image'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<ImageSpec>(imageSpecSchema, compact(input, ['properties']));
      checkPublicize(ctx, s.visibility, null);
      const [row] = await ctx.sql<ImageRow[]>`
        insert into images (name, owner_project_id, visibility, disk_format, checksum, min_disk_gb, min_ram_mb, properties)
        values (${s.name}, ${user.projectId}, ${s.visibility ?? 'private'}, ${s.diskFormat}, ${s.checksum ?? null},
                ${s.minDiskGb ?? 0}, ${s.minRamMb ?? 0}, ${ctx.sql.json(s.properties ?? {})})
        returning *`;
      return row!;
    },
  }),
  updateImage: t.field({
    type: Image,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }), input: t.arg({ type: ImagePatchInput, required: true }) },
    authScopes: { policy: 'image:update' },
    errors: mutationErrors('UpdateImage', 'image'),
    resolve: async (_r, { ref, input }, ctx) => {
      const s = validate<ImagePatch>(imagePatchSchema, compact(input, ['properties']));
      return ctx.sql.begin(async (tx) => {
        const image = await lockWritableImage(tx, ctx, ref);
        checkPublicize(ctx, s.visibility, image.visibility);
        const [row] = await tx<ImageRow[]>`
          update images set
            name = coalesce(${s.name ?? null}, name),
            visibility = coalesce(${s.visibility ?? null}, visibility),
            min_disk_gb = coalesce(${s.minDiskGb ?? null}::int, min_disk_gb),
            min_ram_mb = coalesce(${s.minRamMb ?? null}::int, min_ram_mb),
            properties = coalesce(${s.properties ? tx.json(s.properties) : null}::jsonb, properties),
            updated_at = now()
          where id = ${image.id}
          returning *`;
        return row!;
      });
    },
  }),
  deleteImage: t.field({
    type: Image,
    description: 'Removes the entry and its file; refused while instances use the image.',
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'image:delete' },
    errors: mutationErrors('DeleteImage', 'image'),
    resolve: async (_r, { ref }, ctx) => {
      const image = await ctx.sql.begin(async (tx) => {
        const row = await lockWritableImage(tx, ctx, ref);
        const [use] = await tx<{ n: number }[]>`select count(*)::int as n from instances where image_id = ${row.id}`;
        if (use!.n > 0) throw new ConflictError(`image ${row.name} is used by ${use!.n} instance(s)`);
        await tx`delete from images where id = ${row.id}`.catch((e: unknown) => {
          if (foreignKeyViolation(e)) throw new ConflictError(`image ${row.name} is now used by an instance`);
          throw e;
        });
        return row;
      });
      // Only once the row is gone: a failed delete must not lose the bytes of a live image.
      await removeImageFile(ctx.config.dataDir, image.id);
      return image;
    },
  }),
}));
