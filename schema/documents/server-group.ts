import type { FromSchema } from 'json-schema-to-ts';
import { name } from './common.ts';

export const serverGroupPolicies = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;

export const serverGroupSpecSchema = {
  $id: 'orrery/server-group',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'policy'],
  properties: {
    name,
    policy: { enum: serverGroupPolicies },
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: { maxServerPerHost: { type: 'integer', minimum: 1, maximum: 1000000 } },
    },
  },
} as const;

export type ServerGroupSpec = FromSchema<typeof serverGroupSpecSchema>;
