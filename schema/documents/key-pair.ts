import type { FromSchema } from 'json-schema-to-ts';

export const keyPairSpecSchema = {
  $id: 'orrery/key-pair',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    // Nova's rule: letters, digits, spaces, '.', '_', '-', '@'.
    name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9 ._@-]+$' },
    publicKey: { type: 'string', minLength: 1, maxLength: 16384 },
  },
} as const;

export type KeyPairSpec = FromSchema<typeof keyPairSpecSchema>;
