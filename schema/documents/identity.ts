import type { FromSchema } from 'json-schema-to-ts';
import { reference } from './common.ts';

const identityName = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' } as const;
const role = { enum: ['reader', 'member', 'admin'] } as const;

export const projectSpecSchema = {
  $id: 'orrery/project',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: identityName, description: { type: 'string', maxLength: 65535 } },
} as const;

export type ProjectSpec = FromSchema<typeof projectSpecSchema>;

/** A user is created inside a project with its first roles: without one it could do nothing. */
export const userSpecSchema = {
  $id: 'orrery/user',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'project', 'roles'],
  properties: {
    name: identityName,
    project: reference,
    roles: { type: 'array', items: role, minItems: 1, uniqueItems: true },
  },
} as const;

export type UserSpec = FromSchema<typeof userSpecSchema>;

export const roleAssignmentSchema = {
  $id: 'orrery/role-assignment',
  type: 'object',
  additionalProperties: false,
  required: ['user', 'project', 'role'],
  properties: { user: reference, project: reference, role },
} as const;

export type RoleAssignment = FromSchema<typeof roleAssignmentSchema>;

/** A user token; its expiry (a DateTime, checked to be in the future) is validated beside it. */
export const tokenSpecSchema = {
  $id: 'orrery/token',
  type: 'object',
  additionalProperties: false,
  required: ['user', 'project'],
  properties: { user: reference, project: reference, description: { type: 'string', maxLength: 255 } },
} as const;

export type TokenSpec = FromSchema<typeof tokenSpecSchema>;

/** A password for Identity v3 password auth; the length bounds keep the KDF's input sane. */
export const passwordSchema = { $id: 'orrery/password', type: 'string', minLength: 8, maxLength: 1024 } as const;
