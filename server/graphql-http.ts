import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Context } from '../schema/context.ts';
import { createLoaders } from '../store/loaders.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { principalFor, requestIdFrom } from './authenticate.ts';
import { SocketPrincipals } from './socket-principals.ts';
import { AgentSockets } from './agent-sockets.ts';
import { GraphqlDocuments } from './graphql-documents.ts';
import type { MutationBudget } from './mutation-budget.ts';
import { SubscriptionQuota } from './subscription-quota.ts';
import { refuseOverLimits } from './http-query-limits.ts';
import { unexpectedErrorsPlugin } from './apollo-unexpected-errors.ts';
import { labelOfRefused, operationMetricsPlugin, SocketOperationMetrics } from './graphql-metrics.ts';
import { logSocketResult, requestLogPlugin } from './request-log.ts';
import { hideUnexpected, INTERNAL, isUnexpected } from './unexpected-errors.ts';

export type BaseContext = Omit<Context, 'principal' | 'requestId' | 'loaders'>;

/**
 * Mounts GraphQL on `/graphql`: queries and mutations over HTTP (Apollo), subscriptions over
 * graphql-ws on the same path and port. Both authenticate before anything runs.
 */
export async function mountGraphql(app: Express, http: Server, schema: GraphQLSchema, base: BaseContext, mutations: MutationBudget) {
  // The HTTP server routes upgrades by path (consoles share the port): see control-plane.ts.
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new SocketPrincipals(base.sql);
  const agents = new AgentSockets(base.sql, sockets, base.log, base.config.leaseRenewSeconds * 1000);
  const documents = new GraphqlDocuments(base.config.queryLimits, schema);
  const subscriptions = new SubscriptionQuota(base.config.subscriptionsPerUser);
  const metrics = new SocketOperationMetrics();
  const wsCleanup = useServer(
    {
      schema,
      parse: documents.parse,
      validate: documents.validate,
      onConnect: async (ctx) => {
        const principal = await sockets.connect(ctx, ctx.connectionParams ?? {});
        if (principal) metrics.connected(ctx, principal);
        // An agent's socket renews its host's lease while it shows traffic (agent-sockets.ts).
        if (principal?.kind === 'host') agents.add(ctx, ctx.extra.socket);
        return principal !== null;
      },
      onSubscribe: async (ctx, id, payload) => {
        metrics.subscribing(ctx, id);
        return refusal(ctx, id, payload);
      },
      onError: (ctx, id, payload, errors) => {
        metrics.refused(ctx, id, labelOfRefused(schema, documents.parse, payload.query, payload.operationName), errors);
      },
      onOperation: (ctx, id, _payload, args, result) => {
        metrics.executed(ctx, id, args, Symbol.asyncIterator in result);
      },
      context: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        return {
          ...base,
          principal: (await sockets.current(ctx))!,
          requestId: requestIdFrom(params['x-request-id']),
          loaders: createLoaders(base.sql),
        } satisfies Context;
      },
      onNext: (ctx, id, _payload, args, result) => {
        if (!result.errors?.length) {
          metrics.answered(ctx, id, args, undefined);
          logSocketResult(base.log, args, undefined);
          return undefined;
        }
        const { requestId } = args.contextValue as Context;
        const errors = hideUnexpected(result.errors, { log: base.log, requestId, dev: base.config.dev });
        metrics.answered(ctx, id, args, errors);
        logSocketResult(base.log, args, errors);
        return { ...result, errors };
      },
      onComplete: (ctx, id) => {
        subscriptions.release(ctx, id);
        metrics.completed(ctx, id);
      },
      onClose: (ctx) => {
        subscriptions.releaseSocket(ctx);
        sockets.forget(ctx);
        metrics.closed(ctx);
      },
    },
    wss,
  );

  // Checked again before each operation once the last check is old: a revoked or expired token
  // stops working on an open socket too, and the refusal is that operation's error.
  async function refusal(ctx: object, id: string, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }) {
    const principal = await sockets.current(ctx);
    if (principal === null) {
      return [new GraphQLError('invalid or expired token', { extensions: { code: 'UNAUTHENTICATED' } })];
    }
    const refused = documents.refusal(payload.query, payload.operationName ?? undefined, payload.variables ?? undefined);
    if (refused.length > 0) return refused;
    const document = documents.parse(payload.query);
    const operationName = payload.operationName ?? undefined;
    const limited = mutations.admit(principal, document, operationName) ?? subscriptions.admit(ctx, id, principal, document, operationName);
    return limited ? [limited] : undefined;
  }

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: true,
    parseOptions: { maxTokens: base.config.queryLimits.maxTokens },
    // The CLI owns the signals and stops everything in order (agents' sockets, worker, database).
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: http }),
      // No field carries cache hints, and the default cache-control plugin's per-field hook makes
      // Apollo wrap every resolver of the schema, which the agents' socket operations run too.
      // Answers are per caller: never stored (the header the plugin would have set).
      ApolloServerPluginCacheControlDisabled(),
      { requestDidStart: async () => ({ willSendResponse: async ({ response }) => void response.http.headers.set('cache-control', 'no-store') }) },
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
      unexpectedErrorsPlugin(base.log, base.config.dev),
      operationMetricsPlugin<Context>(),
      requestLogPlugin(base.log),
      {
        requestDidStart: async () => ({
          didResolveOperation: async ({ contextValue, document, operationName }) => {
            const limited = mutations.admit(contextValue.principal, document, operationName ?? undefined);
            if (limited) throw limited;
          },
        }),
      },
    ],
    includeStacktraceInErrorResponses: base.config.dev,
    formatError: (formatted, error) => {
      const original = (error as { originalError?: Error }).originalError;
      const code = original ? codeOf(original) : undefined;
      if (code) {
        const field = original instanceof ValidationError ? { field: original.field } : {};
        return { ...formatted, extensions: { ...formatted.extensions, code, ...field } };
      }
      // The request id is added on the way out (apollo-unexpected-errors.ts); the words stay in the log.
      if (!base.config.dev && error instanceof GraphQLError && isUnexpected(error)) {
        return { message: 'internal error', locations: formatted.locations, path: formatted.path, extensions: { code: INTERNAL } };
      }
      return formatted;
    },
  });
  await apollo.start();
  app.use(
    '/graphql',
    express.json({ limit: '4mb' }),
    refuseOverLimits(documents),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        ...base,
        principal: await principalFor(base.sql, req.headers.authorization),
        requestId: requestIdFrom(req.headers['x-request-id']),
        loaders: createLoaders(base.sql),
      }),
    }),
  );
  return {
    async stop() {
      await agents.stop();
      await apollo.stop();
    },
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
  };
}

/** Typed errors thrown outside a mutation's result union (queries, subscriptions) keep a clear code. */
function codeOf(e: Error): string | undefined {
  if (e instanceof ForbiddenError) return 'FORBIDDEN';
  if (e instanceof NotFoundError) return 'NOT_FOUND';
  if (e instanceof ValidationError) return 'BAD_USER_INPUT';
  if (e instanceof ConflictError) return 'CONFLICT';
  return undefined;
}
