/** Request bodies of /servers, after nova/api/openstack/compute/schemas/servers.py (the fields Orrery carries out). */

const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
const metadata = { type: 'object', maxProperties: 128, additionalProperties: { type: 'string', maxLength: 255 } } as const;
const uuidOrName = { type: 'string', minLength: 1, maxLength: 255 } as const;

export const createServerSchema = {
  $id: 'openstack/compute/server-create',
  type: 'object',
  required: ['server'],
  properties: {
    server: {
      type: 'object',
      required: ['name', 'flavorRef'],
      additionalProperties: false,
      properties: {
        name,
        imageRef: { type: 'string', maxLength: 255 },
        flavorRef: uuidOrName,
        networks: {
          anyOf: [
            { enum: ['auto', 'none'] },
            {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                properties: { uuid: { type: 'string' }, port: { type: 'string' }, fixed_ip: { type: 'string' }, tag: { type: 'string' } },
              },
            },
          ],
        },
        key_name: { type: 'string', minLength: 1, maxLength: 255 },
        user_data: { type: 'string', maxLength: 65535, pattern: '^[A-Za-z0-9+/=\\s]*$' },
        availability_zone: { type: 'string', minLength: 1, maxLength: 255 },
        metadata,
        tags: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 60 } },
        min_count: { type: 'integer', minimum: 1 },
        max_count: { type: 'integer', minimum: 1 },
        return_reservation_id: { type: 'boolean' },
        config_drive: { type: ['boolean', 'string'] },
        security_groups: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
        description: { type: ['string', 'null'], maxLength: 255 },
        adminPass: { type: 'string' },
        accessIPv4: { type: 'string' },
        accessIPv6: { type: 'string' },
        'OS-DCF:diskConfig': { enum: ['AUTO', 'MANUAL'] },
      },
    },
    'OS-SCH-HNT:scheduler_hints': {
      type: 'object',
      properties: {
        group: { type: 'string' },
        same_host: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        different_host: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        query: { anyOf: [{ type: 'string' }, { type: 'array' }] },
      },
    },
  },
} as const;

export interface CreateServerBody {
  server: {
    name: string;
    imageRef?: string;
    flavorRef: string;
    networks?: 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string }[];
    key_name?: string;
    user_data?: string;
    availability_zone?: string;
    metadata?: Record<string, string>;
    tags?: string[];
    min_count?: number;
    max_count?: number;
    return_reservation_id?: boolean;
    config_drive?: boolean | string;
  };
  'OS-SCH-HNT:scheduler_hints'?: { group?: string; same_host?: string | string[]; different_host?: string | string[]; query?: unknown };
}

export const updateServerSchema = {
  $id: 'openstack/compute/server-update',
  type: 'object',
  required: ['server'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: { name, description: { type: ['string', 'null'], maxLength: 255 }, accessIPv4: { type: 'string' }, accessIPv6: { type: 'string' }, 'OS-DCF:diskConfig': { type: 'string' } },
    },
  },
} as const;

export interface UpdateServerBody {
  server: { name?: string };
}

export const metadataSchema = {
  $id: 'openstack/compute/metadata',
  type: 'object',
  required: ['metadata'],
  properties: { metadata },
} as const;
