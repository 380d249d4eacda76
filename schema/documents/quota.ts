import type { FromSchema } from 'json-schema-to-ts';
import { reference } from './common.ts';

export const quotaResourceNames = ['instances', 'cores', 'ram', 'server_groups', 'server_group_members', 'key_pairs', 'metadata_items'] as const;

const resource = { enum: quotaResourceNames } as const;
// -1 is unlimited; null (with a project) goes back to the default.
const limit = { type: ['integer', 'null'], minimum: -1, maximum: 2147483647 } as const;

/** One limit: of a project, or (no project) the default every project without its own gets. */
export const quotaSetSchema = {
  $id: 'orrery/quota-set',
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'limit'],
  properties: { project: reference, resource, limit },
} as const;

export type QuotaSet = FromSchema<typeof quotaSetSchema>;

/** Several limits of one project (or of the default), set together: all of them or none. */
export const quotaSetsSchema = {
  $id: 'orrery/quota-sets',
  type: 'object',
  additionalProperties: false,
  required: ['limits'],
  properties: {
    project: reference,
    limits: {
      type: 'array',
      minItems: 1,
      maxItems: quotaResourceNames.length,
      items: { type: 'object', additionalProperties: false, required: ['resource', 'limit'], properties: { resource, limit } },
    },
  },
} as const;

export type QuotaSets = FromSchema<typeof quotaSetsSchema>;
