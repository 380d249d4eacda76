import type { FromSchema } from 'json-schema-to-ts';
import { name, reference, stringMap } from './common.ts';

export const zoneSpecSchema = {
  $id: 'orrery/zone',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name, description: { type: 'string', maxLength: 65535 } },
} as const;

export type ZoneSpec = FromSchema<typeof zoneSpecSchema>;

export const aggregateSpecSchema = {
  $id: 'orrery/aggregate',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name,
    metadata: stringMap,
    hosts: { type: 'array', items: reference, uniqueItems: true, maxItems: 10000 },
  },
} as const;

export type AggregateSpec = FromSchema<typeof aggregateSpecSchema>;
