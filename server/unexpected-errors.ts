import { GraphQLError } from 'graphql';
import { OrreryError } from '../core/errors.ts';
import type { Log } from '../core/log.ts';

export const INTERNAL = 'INTERNAL_SERVER_ERROR';

/** What a client reads instead of an unexpected error: no stack, no SQL, only the id to quote. */
export function internalErrorMessage(requestId: string): string {
  return `internal error (request ${requestId})`;
}

/**
 * An error nobody meant a client to read: a bug, or the words of the database or a driver. Errors
 * of the request itself (syntax, validation, variables) have no original error; the ones our code
 * throws on purpose are OrreryErrors or GraphQLErrors.
 */
export function isUnexpected(e: GraphQLError): boolean {
  const original = e.originalError;
  return original !== undefined && !(original instanceof OrreryError) && !(original instanceof GraphQLError);
}

export function logUnexpected(log: Log, e: GraphQLError, requestId: string | undefined): void {
  log.error({ err: e.originalError ?? e, requestId, path: e.path?.join('.') }, 'unexpected error');
}

/**
 * The graphql-ws side of the rule Apollo's hooks keep for HTTP: each unexpected error is logged
 * with its request id and, outside development mode, replaced by "internal error" and that id.
 */
export function hideUnexpected(errors: readonly GraphQLError[], o: { log: Log; requestId: string; dev: boolean }): GraphQLError[] {
  return errors.map((e) => {
    if (!isUnexpected(e)) return e;
    logUnexpected(o.log, e, o.requestId);
    if (o.dev) return e;
    return new GraphQLError(internalErrorMessage(o.requestId), { path: e.path, extensions: { code: INTERNAL, requestId: o.requestId } });
  });
}
