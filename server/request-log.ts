import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, Kind, type ExecutionArgs, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import type { Log } from '../core/log.ts';
import type { Principal } from '../core/principal.ts';
import type { Context } from '../schema/context.ts';
import { outcome } from './graphql-metrics.ts';

interface AnsweredOperation {
  requestId: string;
  principal: Principal;
  operation: OperationDefinitionNode;
  operationName?: string | null;
  errors: readonly GraphQLFormattedError[] | undefined;
  transport: 'http' | 'ws';
  /** Known over HTTP, where the request's start is seen. */
  ms?: number;
}

/**
 * One log line per answered operation, with its request id: the first line of what one grep of
 * that id finds (the worker's jobs, the agent's driver steps and the action record carry it on).
 * A user's mutations are info; host agents' reports, a steady stream, are debug, as are reads.
 */
function logOperation(log: Log, o: AnsweredOperation): void {
  const level = o.operation.operation === 'mutation' && o.principal.kind === 'user' ? 'info' : 'debug';
  if (!log.isLevelEnabled(level)) return;
  log[level]({
    requestId: o.requestId,
    operation: o.operation.operation,
    ...(o.operationName ? { operationName: o.operationName } : {}),
    fields: o.operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '...')),
    ...(o.principal.kind === 'user' ? { user: o.principal.userName, project: o.principal.projectId } : { principal: o.principal.kind }),
    transport: o.transport,
    outcome: outcome(o.errors),
    ...(o.ms !== undefined ? { ms: o.ms } : {}),
  }, `graphql ${o.operation.operation}`);
}

/** Over HTTP: each operation Apollo answers. */
export function requestLogPlugin(log: Log): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, contextValue, response }) {
          if (!operation) return;
          logOperation(log, {
            requestId: contextValue.requestId,
            principal: contextValue.principal,
            operation,
            operationName,
            errors: response.body.kind === 'single' ? response.body.singleResult.errors : undefined,
            transport: 'http',
            ms: Math.round(performance.now() - started),
          });
        },
      };
    },
  };
}

/**
 * Over graphql-ws: a query's or mutation's one result, as sent (graphql-http.ts's onNext). A
 * subscription's events are not requests, and are not logged.
 */
export function logSocketResult(log: Log, args: ExecutionArgs, errors: readonly GraphQLFormattedError[] | undefined): void {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation === 'subscription') return;
  const { requestId, principal } = args.contextValue as Context;
  logOperation(log, { requestId, principal, operation, operationName: args.operationName, errors, transport: 'ws' });
}
