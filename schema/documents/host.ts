import type { FromSchema } from 'json-schema-to-ts';
import { reference } from './common.ts';

const ratio = { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1000 } as const;

/** What an admin may set on an enrolled host; inventory itself is reported by its agent. */
export const hostPatchSchema = {
  $id: 'orrery/host-patch',
  type: 'object',
  additionalProperties: false,
  properties: {
    zone: { anyOf: [reference, { type: 'null' }] },
    enabled: { type: 'boolean' },
    disabledReason: { type: ['string', 'null'], maxLength: 255 },
    forcedDown: { type: 'boolean' },
    cpuAllocationRatio: ratio,
    ramAllocationRatio: ratio,
    diskAllocationRatio: ratio,
    orphanPolicy: { enum: ['remove', 'keep'] },
    reservedVcpus: { type: 'integer', minimum: 0 },
    reservedMemoryMb: { type: 'integer', minimum: 0 },
    reservedDiskGb: { type: 'integer', minimum: 0 },
  },
} as const;

export type HostPatch = FromSchema<typeof hostPatchSchema>;
