import { DriverError } from './drivers/driver.ts';
import type { AgentApi, ImageToFetch } from './api.ts';
import { ImageCache, type ImageCacheOptions } from './image-cache.ts';

/**
 * Where an instance's base image lives on this host: downloaded once from the control plane with
 * the host credential (which may fetch only images of instances bound to this host) and verified
 * against the catalogue's checksum before any disk is built on it.
 */
export function cachedImages(dir: string, options: ImageCacheOptions = {}) {
  const cache = new ImageCache(dir, options);
  return {
    cache,
    imagePath: async (image: ImageToFetch, api: AgentApi): Promise<string> => {
      const { id, checksum, diskFormat } = image;
      if (!checksum) throw new DriverError(`image ${id} has no checksum; it cannot be verified`, 'image_unverifiable');
      return cache.ensure({ id, checksum, diskFormat }, () => api.downloadImage(id));
    },
  };
}
