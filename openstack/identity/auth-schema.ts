/** Keystone's POST /v3/auth/tokens body, for the methods this facade accepts. */
const named = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    domain: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
  },
} as const;

export const authRequestSchema = {
  $id: 'openstack/identity/auth',
  type: 'object',
  required: ['auth'],
  properties: {
    auth: {
      type: 'object',
      required: ['identity'],
      properties: {
        identity: {
          type: 'object',
          required: ['methods'],
          properties: {
            methods: { type: 'array', minItems: 1, items: { enum: ['password', 'application_credential', 'token'] } },
            password: {
              type: 'object',
              required: ['user'],
              properties: {
                user: { ...named, required: ['password'], properties: { ...named.properties, password: { type: 'string' } } },
              },
            },
            application_credential: {
              type: 'object',
              required: ['secret'],
              properties: { id: { type: 'string' }, name: { type: 'string' }, secret: { type: 'string' } },
            },
            token: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          },
        },
        scope: {
          anyOf: [
            { const: 'unscoped' },
            { type: 'object', properties: { project: named, system: { type: 'object' }, domain: { type: 'object' } } },
          ],
        },
      },
    },
  },
} as const;

export interface AuthRequest {
  auth: {
    identity: {
      methods: ('password' | 'application_credential' | 'token')[];
      password?: { user: { id?: string; name?: string; password: string } };
      application_credential?: { id?: string; secret: string };
      token?: { id: string };
    };
    scope?: 'unscoped' | { project?: { id?: string; name?: string } };
  };
}
