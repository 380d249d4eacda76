import { MAX_VERSION, MIN_VERSION } from './microversion.ts';

/** Nova's version document, at /compute/ (a list) and /compute/v2.1 (the one). */
export function computeVersion(base: string) {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${base}/compute/v2.1/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}
