import type { FromSchema } from 'json-schema-to-ts';
import { name, stringMap } from './common.ts';

export const flavorSpecSchema = {
  $id: 'orrery/flavor',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'vcpus', 'ramMb', 'diskGb'],
  properties: {
    name,
    vcpus: { type: 'integer', minimum: 1, maximum: 1024 },
    ramMb: { type: 'integer', minimum: 1, maximum: 16777216 },
    diskGb: { type: 'integer', minimum: 0, maximum: 1048576 },
    ephemeralGb: { type: 'integer', minimum: 0, maximum: 1048576 },
    swapMb: { type: 'integer', minimum: 0, maximum: 16777216 },
    extraSpecs: stringMap,
    isPublic: { type: 'boolean' },
    description: { type: 'string', maxLength: 65535 },
  },
} as const;

export type FlavorSpec = FromSchema<typeof flavorSpecSchema>;
