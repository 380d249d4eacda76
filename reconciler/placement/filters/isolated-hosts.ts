import type { Filter } from '../types.ts';

/**
 * Isolated images run only on isolated hosts; with restrictIsolatedHostsToIsolatedImages (the
 * default) isolated hosts also run nothing else. Hosts and images are named by name or ID.
 */
export const isolatedHostsFilter: Filter = {
  name: 'IsolatedHosts',
  check(req, host) {
    const c = req.config;
    const imageIsolated = c.isolatedImages.includes(req.image.id) || c.isolatedImages.includes(req.image.name);
    const hostIsolated = c.isolatedHosts.includes(host.name) || c.isolatedHosts.includes(host.id);
    if (imageIsolated && !hostIsolated) return `image ${req.image.name} is isolated; host is not`;
    if (!imageIsolated && hostIsolated && c.restrictIsolatedHostsToIsolatedImages) {
      return `host is isolated; image ${req.image.name} is not`;
    }
    return null;
  },
};
