/**
 * What an image's disk needs of a flavor's. The virtual size is the guest's disk size: a qcow2
 * file says it in its header (magic "QFI\xfb", version 2 or 3, then the size big-endian in bytes
 * 24–31); a raw file is its own size.
 */

const QCOW2_MAGIC = 0x514649fb;
const GiB = 1024 ** 3;

/** How many leading bytes `virtualSizeOf` reads. */
export const IMAGE_HEAD_BYTES = 32;

/** The virtual size the first bytes of a file give, or null when they do not say (not the format claimed). */
export function virtualSizeOf(format: 'qcow2' | 'raw', head: Buffer, fileSize: number): number | null {
  if (format === 'raw') return fileSize;
  if (head.length < IMAGE_HEAD_BYTES || head.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  return Number(head.readBigUInt64BE(24));
}

interface DiskNeeds {
  name: string;
  min_disk_gb: number;
  min_ram_mb: number;
  virtual_size_bytes: number | null;
}

interface FlavorSize {
  name: string;
  ram_mb: number;
  disk_gb: number;
}

/**
 * Why the flavor cannot boot the image, or null (Nova's FlavorMemoryTooSmall, FlavorDiskSmallerThanMinDisk
 * and FlavorDiskSmallerThanImage). A flavor with a 0 GiB disk takes the image's size, as in Nova.
 */
export function flavorRefusal(image: DiskNeeds, flavor: FlavorSize): string | null {
  if (image.min_ram_mb > flavor.ram_mb) {
    return `flavor ${flavor.name} has ${flavor.ram_mb} MiB RAM; image ${image.name} needs ${image.min_ram_mb}`;
  }
  if (image.min_disk_gb > flavor.disk_gb) {
    return `flavor ${flavor.name} has a ${flavor.disk_gb} GiB disk; image ${image.name} needs ${image.min_disk_gb}`;
  }
  if (flavor.disk_gb > 0 && image.virtual_size_bytes !== null && image.virtual_size_bytes > flavor.disk_gb * GiB) {
    const needs = Math.ceil((image.virtual_size_bytes / GiB) * 100) / 100;
    return `flavor ${flavor.name} has a ${flavor.disk_gb} GiB disk, smaller than image ${image.name} (${needs} GiB virtual size)`;
  }
  return null;
}
