import type { ZoneRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';

/** A zone with the names of its hosts, read in the same query. */
export type ZoneView = ZoneRow & { hosts: string[] };

export const AvailabilityZone = builder.objectRef<ZoneView>('AvailabilityZone').implement({
  description: 'A failure domain users pick for their instances (Nova availability zone).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    hosts: t.exposeStringList('hosts', { description: 'Names of the hosts in the zone' }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});
