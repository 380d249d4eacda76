import type { FloatingIpRow } from '../../store/floating-ips.ts';
import { builder } from '../builder.ts';

export const FloatingIp = builder.objectRef<FloatingIpRow>('FloatingIp').implement({
  description: "An external network's address, NATed to a port's fixed IP while associated.",
  fields: (t) => ({
    id: t.exposeID('id'),
    address: t.exposeString('address'),
    networkId: t.exposeID('network_id'),
    projectId: t.exposeID('project_id'),
    portId: t.exposeID('port_id', { nullable: true }),
    fixedIp: t.exposeString('fixed_ip', { nullable: true }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});
