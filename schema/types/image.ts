import type { ImageRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';
import { KeyValue, toPairs } from '../scalars.ts';

export const Image = builder.objectRef<ImageRow>('Image').implement({
  description: 'A bootable disk image: catalogue entry plus a checksummed file (Glance image).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    ownerProjectId: t.exposeID('owner_project_id'),
    visibility: t.exposeString('visibility', { description: 'public or private' }),
    diskFormat: t.exposeString('disk_format', { description: 'qcow2 or raw' }),
    status: t.exposeString('status', { description: 'queued (no file yet), saving (upload running), active' }),
    // Float, not Int: images pass 2 GiB, and a double is exact up to 2^53 bytes.
    sizeBytes: t.exposeFloat('size_bytes', { nullable: true }),
    virtualSizeBytes: t.exposeFloat('virtual_size_bytes', { nullable: true, description: "The guest's disk size, from the file's header (Glance's virtual_size); a flavor's disk must hold it" }),
    checksum: t.exposeString('checksum', { nullable: true, description: 'sha256 of the file, hex' }),
    minDiskGb: t.exposeInt('min_disk_gb'),
    minRamMb: t.exposeInt('min_ram_mb'),
    properties: t.field({ type: [KeyValue], resolve: (i) => toPairs(i.properties) }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
    updatedAt: t.expose('updated_at', { type: 'DateTime' }),
    fileUrl: t.string({
      description: 'Path of the file, relative to the API: PUT to upload, GET to download',
      resolve: (i) => `/images/${i.id}/file`,
    }),
  }),
});
