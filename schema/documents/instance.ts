import type { FromSchema } from 'json-schema-to-ts';
import { name, reference, stringMap, uuid } from './common.ts';
import { instanceNicSchema, MAX_INSTANCE_NICS } from './network.ts';

/** Nova's server tags: 1–60 characters without '/' or ',' (they would break its URL and list syntax), at most 50. */
const MAX_TAGS = 50;
const tags = {
  type: 'array',
  maxItems: MAX_TAGS,
  items: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^/,]*$' },
} as const;

export const desiredPowerStates = ['running', 'stopped', 'paused', 'suspended'] as const;

export const instanceSpecSchema = {
  $id: 'orrery/instance',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'flavor', 'image'],
  properties: {
    name,
    flavor: reference,
    image: reference,
    zone: reference,
    powerState: { enum: desiredPowerStates },
    metadata: stringMap,
    userData: { type: 'string', maxLength: 65535 },
    serverGroup: reference,
    schedulerHints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sameHost: { type: 'array', items: uuid, uniqueItems: true, maxItems: 100 },
        differentHost: { type: 'array', items: uuid, uniqueItems: true, maxItems: 100 },
        // Nova's JsonFilter query, as an array or its JSON text; checked further by the scheduler's parser.
        query: { type: ['array', 'string'] },
      },
    },
    keyName: name,
    /** Nova's config_drive: the metadata also on a CD-ROM labelled config-2. */
    configDrive: { type: 'boolean' },
    tags,
    /** The instance's NICs, in order; absent: a port on the project's only network, if it has exactly one. */
    networks: { type: 'array', maxItems: MAX_INSTANCE_NICS, items: instanceNicSchema },
  },
} as const;

export type InstanceSpec = FromSchema<typeof instanceSpecSchema>;

/** Fields an update may change; absent fields stay as they are. */
export const instancePatchSchema = {
  $id: 'orrery/instance-patch',
  type: 'object',
  additionalProperties: false,
  properties: {
    name,
    powerState: { enum: desiredPowerStates },
    metadata: stringMap,
    image: reference,
    flavor: reference,
    /** Replaces the whole set. */
    tags,
  },
} as const;

export type InstancePatch = FromSchema<typeof instancePatchSchema>;

/** A tag list as the set it stands for: first occurrence kept, duplicates dropped (as Nova collapses them). */
export function tagSet(list: readonly string[]): string[] {
  return [...new Set(list)];
}
