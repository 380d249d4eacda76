/** What Glance's image answers read of an Orrery image. */
export const IMAGE_FIELDS = 'id name status visibility checksum sizeBytes virtualSizeBytes minDiskGb minRamMb diskFormat ownerProjectId createdAt updatedAt properties { key value }';

export interface ImageNode {
  id: string;
  name: string;
  status: string;
  visibility: string;
  checksum: string | null;
  sizeBytes: number | null;
  virtualSizeBytes: number | null;
  minDiskGb: number;
  minRamMb: number;
  diskFormat: string;
  ownerProjectId: string;
  createdAt: string;
  updatedAt: string;
  properties: { key: string; value: string }[];
}

const noMillis = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

/**
 * Glance v2's image. Orrery keeps a SHA-256 of the file: that is Glance's multihash
 * (os_hash_algo/os_hash_value); `checksum`, an MD5 in Glance, stays null rather than lie.
 */
export function imageView(i: ImageNode) {
  return {
    ...Object.fromEntries(i.properties.map((p) => [p.key, p.value])),
    id: i.id,
    name: i.name,
    status: i.status,
    visibility: i.visibility,
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: i.checksum ? 'sha256' : null,
    os_hash_value: i.checksum,
    size: i.sizeBytes,
    virtual_size: i.virtualSizeBytes,
    min_disk: i.minDiskGb,
    min_ram: i.minRamMb,
    disk_format: i.diskFormat,
    container_format: 'bare',
    owner: i.ownerProjectId,
    tags: [],
    created_at: noMillis(i.createdAt),
    updated_at: noMillis(i.updatedAt),
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
  };
}
