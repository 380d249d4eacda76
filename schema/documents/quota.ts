import type { FromSchema } from 'json-schema-to-ts';
import { reference } from './common.ts';

export const quotaResourceNames = ['instances', 'cores', 'ram', 'server_groups', 'server_group_members', 'key_pairs', 'metadata_items'] as const;

/** One limit: of a project, or (no project) the default every project without its own gets. */
export const quotaSetSchema = {
  $id: 'orrery/quota-set',
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'limit'],
  properties: {
    project: reference,
    resource: { enum: quotaResourceNames },
    // -1 is unlimited; null (with a project) goes back to the default.
    limit: { type: ['integer', 'null'], minimum: -1, maximum: 2147483647 },
  },
} as const;

export type QuotaSet = FromSchema<typeof quotaSetSchema>;
