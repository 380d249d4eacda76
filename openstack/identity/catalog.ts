import { createHash } from 'node:crypto';

const REGION = 'RegionOne';

/** Stable ids from the URL, as clients cache catalog entries by id. */
const idOf = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 32);

function service(type: string, name: string, url: string) {
  return {
    id: idOf(type),
    type,
    name,
    endpoints: ['public', 'internal', 'admin'].map((iface) => ({
      id: idOf(`${type}:${iface}:${url}`),
      interface: iface,
      region: REGION,
      region_id: REGION,
      url,
    })),
  };
}

/** The facade's services, at the address the client reached it by. */
export function catalog(base: string) {
  return [
    service('identity', 'keystone', `${base}/identity/v3`),
    service('compute', 'nova', `${base}/compute/v2.1`),
    service('image', 'glance', `${base}/image`),
  ];
}
