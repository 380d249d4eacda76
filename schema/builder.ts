import SchemaBuilder from '@pothos/core';
import { GraphQLError } from 'graphql';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Context } from './context.ts';
import TextHygienePlugin from './plugins/text-hygiene.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { policy: string };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // scope-auth first, so authorization runs before anything else a field does; text hygiene inside
  // the errors plugin, so its ValidationError is a mutation's typed result.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, TextHygienePlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({ policy: (rule: string) => ctx.policy.allows(ctx.principal, rule) }),
    unauthorizedError: (_parent, _ctx, info) =>
      new GraphQLError(`not allowed: ${info.parentType.name}.${info.fieldName} (policy)`, {
        extensions: { code: 'FORBIDDEN', http: { status: 403 } },
      }),
  },
  errors: { defaultTypes: [] },
  relay: { clientMutationId: 'omit', cursorType: 'String' },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
