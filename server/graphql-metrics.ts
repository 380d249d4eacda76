import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, ExecutionArgs, GraphQLFormattedError, GraphQLSchema, OperationTypeNode } from 'graphql';
import type { Principal } from '../core/principal.ts';
import { activeSubscriptions, graphqlDuration, graphqlOperations, openSockets } from './metrics/api.ts';
import { documentLabel, operationLabel, UNKNOWN_OPERATION, type OperationLabel } from './metrics/operation-label.ts';

/** `success`, or the code of the first error (codes are the server's own words, so the label stays bounded). */
export function outcome(errors: readonly GraphQLFormattedError[] | undefined): string {
  if (!errors?.length) return 'success';
  const code = errors[0]!.extensions?.code;
  return typeof code === 'string' ? code : 'error';
}

/** Over HTTP: every operation Apollo answers, refused ones included, counted and timed once it is sent. */
export function operationMetricsPlugin<C extends object>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation }) {
          const label = operation ? operationLabel(operation) : UNKNOWN_OPERATION;
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          graphqlOperations.inc({ ...label, transport: 'http', outcome: outcome(errors) });
          graphqlDuration.observe({ ...label, transport: 'http' }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

interface SocketState {
  principal: string | null;
  /** Queries and mutations under way, by id: when each started. */
  started: Map<string, number>;
  /** Open subscriptions by id, with their root field. */
  subscriptions: Map<string, string>;
}

/**
 * Over graphql-ws, where agents send everything (reports, their watch, keep-alive pings): the sockets
 * open by kind of token, the subscriptions open, and each query or mutation counted and timed as
 * over HTTP. Fed by the server's hooks (graphql-http.ts), one call per hook.
 */
export class SocketOperationMetrics {
  private readonly sockets = new WeakMap<object, SocketState>();

  connected(ctx: object, principal: Principal | null): void {
    const kind = principal?.kind ?? null;
    this.sockets.set(ctx, { principal: kind, started: new Map(), subscriptions: new Map() });
    if (kind) openSockets.inc({ principal: kind });
  }

  closed(ctx: object): void {
    const s = this.sockets.get(ctx);
    if (s?.principal) openSockets.dec({ principal: s.principal });
    this.sockets.delete(ctx);
  }

  subscribing(ctx: object, id: string): void {
    this.sockets.get(ctx)?.started.set(id, performance.now());
  }

  /** Refused before it ran (a stale token, a query limit, the mutation budget, an invalid document): graphql-ws's error message. */
  refused(ctx: object, id: string, label: OperationLabel, errors: readonly GraphQLFormattedError[]): void {
    this.sockets.get(ctx)?.started.delete(id);
    graphqlOperations.inc({ ...label, transport: 'ws', outcome: outcome(errors) });
  }

  /** The operation ran: a subscription's result is a stream, counted now and open until it completes. */
  executed(ctx: object, id: string, args: ExecutionArgs, streaming: boolean): void {
    const s = this.sockets.get(ctx);
    if (!s || !streaming) return;
    const label = documentLabel(args.document, args.operationName);
    s.started.delete(id);
    s.subscriptions.set(id, label.field);
    activeSubscriptions.inc({ field: label.field });
    graphqlOperations.inc({ ...label, transport: 'ws', outcome: 'success' });
  }

  /** A query's or mutation's one result, as sent; a subscription's events are not operations. */
  answered(ctx: object, id: string, args: ExecutionArgs, errors: readonly GraphQLFormattedError[] | undefined): void {
    const s = this.sockets.get(ctx);
    const started = s?.started.get(id);
    if (started === undefined) return;
    s!.started.delete(id);
    const label = documentLabel(args.document, args.operationName);
    graphqlOperations.inc({ ...label, transport: 'ws', outcome: outcome(errors) });
    graphqlDuration.observe({ ...label, transport: 'ws' }, (performance.now() - started) / 1000);
  }

  completed(ctx: object, id: string): void {
    const s = this.sockets.get(ctx);
    const field = s?.subscriptions.get(id);
    s?.started.delete(id);
    if (field === undefined) return;
    s!.subscriptions.delete(id);
    activeSubscriptions.dec({ field });
  }
}

/**
 * The label of an operation refused before it ran: its document may not parse, or not validate,
 * so a root field the schema does not have is `unknown` (a client must not be able to make up
 * label values).
 */
export function labelOfRefused(schema: GraphQLSchema, parse: (q: string) => DocumentNode, query: string, operationName?: string | null): OperationLabel {
  let label: OperationLabel;
  try {
    label = documentLabel(parse(query), operationName);
  } catch {
    return UNKNOWN_OPERATION;
  }
  const root = label.type === 'unknown' ? null : schema.getRootType(label.type as OperationTypeNode);
  return root?.getFields()[label.field] ? label : { ...label, field: 'unknown' };
}
