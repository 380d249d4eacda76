import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Log } from '../core/log.ts';
import type { Context } from '../schema/context.ts';
import { INTERNAL, internalErrorMessage, isUnexpected, logUnexpected } from './unexpected-errors.ts';

/**
 * Over HTTP, each unexpected error is logged with its request id (formatError, which knows no
 * request, has already replaced its message), and outside development mode the client reads only
 * "internal error" and that id.
 */
export function unexpectedErrorsPlugin(log: Log, dev: boolean): ApolloServerPlugin<Context> {
  return {
    async contextCreationDidFail({ error }) {
      log.error({ err: error }, 'unexpected error while authenticating a request');
    },
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const e of errors) if (isUnexpected(e)) logUnexpected(log, e, contextValue.requestId);
        },
        async willSendResponse({ response, contextValue }) {
          if (dev || response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          const id = contextValue.requestId;
          response.body.singleResult.errors = response.body.singleResult.errors.map((e): GraphQLFormattedError =>
            e.extensions?.code === INTERNAL ? { ...e, message: internalErrorMessage(id), extensions: { code: INTERNAL, requestId: id } } : e,
          );
        },
      };
    },
  };
}
