import type { FlavorRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';
import { KeyValue, toPairs } from '../scalars.ts';

export const Flavor = builder.objectRef<FlavorRow>('Flavor').implement({
  description: 'A size an instance can have: vCPUs, RAM and disk (Nova flavor).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    vcpus: t.exposeInt('vcpus'),
    ramMb: t.exposeInt('ram_mb'),
    diskGb: t.exposeInt('disk_gb'),
    ephemeralGb: t.exposeInt('ephemeral_gb'),
    swapMb: t.exposeInt('swap_mb'),
    extraSpecs: t.field({ type: [KeyValue], resolve: (f) => toPairs(f.extra_specs) }),
    isPublic: t.exposeBoolean('is_public'),
    description: t.exposeString('description'),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});
