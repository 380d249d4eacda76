import type { FromSchema } from 'json-schema-to-ts';
import { reference } from './common.ts';

/** Every filter the scheduler knows, by the name an admin enables it with. */
export const filterNames = [
  'Compute', 'AvailabilityZone', 'Retry', 'RAM', 'Disk', 'Core', 'ComputeCapabilities', 'ImageProperties',
  'SameHost', 'DifferentHost', 'ServerGroupAffinity', 'ServerGroupAntiAffinity', 'AggregateInstanceExtraSpecs',
  'AggregateMultiTenancyIsolation', 'IsolatedHosts', 'NumInstances', 'IoOps', 'Json',
] as const;
export type FilterName = (typeof filterNames)[number];

export const weigherNames = [
  'RAM', 'CPU', 'Disk', 'IoOps', 'NumInstances', 'ServerGroupSoftAffinity', 'ServerGroupSoftAntiAffinity', 'BuildFailure',
] as const;
export type WeigherName = (typeof weigherNames)[number];

const multiplier = { type: 'number', minimum: -1e9, maximum: 1e9 } as const;

/** The scheduler's configuration as an admin applies it; absent fields take the defaults. */
export const schedulerConfigSchema = {
  $id: 'orrery/scheduler-config',
  type: 'object',
  additionalProperties: false,
  properties: {
    filters: { type: 'array', items: { enum: filterNames }, uniqueItems: true, description: 'Enabled filters, in the order they run' },
    weighers: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(weigherNames.map((n) => [n, multiplier])) as Record<WeigherName, typeof multiplier>,
    },
    hostSubsetSize: { type: 'integer', minimum: 1, maximum: 1000 },
    candidateLimit: { type: 'integer', minimum: 1, maximum: 10000 },
    maxInstancesPerHost: { type: 'integer', minimum: 1 },
    maxIoOpsPerHost: { type: 'integer', minimum: 1 },
    isolatedHosts: { type: 'array', items: reference, uniqueItems: true, maxItems: 10000 },
    isolatedImages: { type: 'array', items: reference, uniqueItems: true, maxItems: 10000 },
    restrictIsolatedHostsToIsolatedImages: { type: 'boolean' },
  },
} as const;

export type SchedulerConfigSpec = FromSchema<typeof schedulerConfigSchema>;
