import type { ApolloServerPlugin } from '@apollo/server';
import { Kind } from 'graphql';
import type { Log } from '../core/log.ts';
import type { Context } from '../schema/context.ts';
import { outcome } from './graphql-metrics.ts';

/**
 * One log line per mutation over HTTP, with its request id: the first line of what one grep of
 * that id finds (the worker's jobs, the agent's driver steps and the action record carry it on).
 * A user's mutations are info; host agents' reports, a steady stream, are debug, as are reads.
 */
export function requestLogPlugin(log: Log): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, contextValue, response }) {
          if (!operation) return;
          const principal = contextValue.principal;
          const level = operation.operation === 'mutation' && principal.kind === 'user' ? 'info' : 'debug';
          if (!log.isLevelEnabled(level)) return;
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          log[level]({
            requestId: contextValue.requestId,
            operation: operation.operation,
            ...(operationName ? { operationName } : {}),
            fields: operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '...')),
            ...(principal.kind === 'user' ? { user: principal.userName, project: principal.projectId } : { principal: principal.kind }),
            outcome: outcome(errors),
            ms: Math.round(performance.now() - started),
          }, `graphql ${operation.operation}`);
        },
      };
    },
  };
}
