import type { FromSchema } from 'json-schema-to-ts';
import { name, stringMap } from './common.ts';

export const imageSpecSchema = {
  $id: 'orrery/image',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'diskFormat'],
  properties: {
    name,
    diskFormat: { enum: ['qcow2', 'raw'] },
    visibility: { enum: ['public', 'private'] },
    checksum: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    minDiskGb: { type: 'integer', minimum: 0 },
    minRamMb: { type: 'integer', minimum: 0 },
    properties: stringMap,
  },
} as const;

export type ImageSpec = FromSchema<typeof imageSpecSchema>;

export const imagePatchSchema = {
  $id: 'orrery/image-patch',
  type: 'object',
  additionalProperties: false,
  properties: {
    name,
    visibility: { enum: ['public', 'private'] },
    minDiskGb: { type: 'integer', minimum: 0 },
    minRamMb: { type: 'integer', minimum: 0 },
    properties: stringMap,
  },
} as const;

export type ImagePatch = FromSchema<typeof imagePatchSchema>;
