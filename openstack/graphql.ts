import { graphql } from 'graphql';
import {
  ConflictError, ForbiddenError, NotFoundError, OrreryError, QuotaExceededError, ValidationError,
} from '../core/errors.ts';
import { schema } from '../schema/index.ts';
import type { Context } from '../schema/context.ts';
import { OsError } from './errors.ts';

/** Selected on every mutation result, so a typed refusal comes back whole. */
export const ERROR_FIELDS = `__typename ... on Error { message } ... on ValidationError { field issues { field message } }
  ... on NotFoundError { resource ref field } ... on ConflictError { currentState }
  ... on QuotaExceededError { resource requested inUse limit } ... on AddressExhaustedError { field }`;

type Data = Record<string, unknown>;

/**
 * Runs one GraphQL operation in this process against Orrery's own schema, as the caller: the
 * facade has no rule of its own, it is this call plus a change of shape.
 */
export async function run<T = Data>(ctx: Context, source: string, variableValues: Data = {}): Promise<T> {
  const result = await graphql({ schema, source, contextValue: ctx, variableValues });
  const err = result.errors?.[0];
  if (err) {
    if (err.originalError instanceof OrreryError) throw err.originalError;
    if (err.extensions?.code === 'FORBIDDEN') throw new ForbiddenError(err.message);
    throw err.originalError ?? new Error(err.message);
  }
  return result.data as T;
}

/** A mutation's result union: the success payload, or its typed error thrown as Orrery's class. */
export function unwrap<T>(result: Data): T {
  const typename = String(result.__typename);
  if (!typename.endsWith('Error')) return result as T;
  const message = String(result.message);
  switch (typename) {
    case 'ValidationError':
      throw new ValidationError(result.issues as { field: string; message: string }[]);
    case 'NotFoundError':
      throw new NotFoundError(String(result.resource), String(result.ref), String(result.field));
    case 'ConflictError':
      throw new ConflictError(message, (result.currentState as string | null) ?? undefined);
    case 'ForbiddenError':
      throw new ForbiddenError(message);
    case 'QuotaExceededError':
      throw new QuotaExceededError(String(result.resource), Number(result.requested), Number(result.inUse), Number(result.limit));
    case 'AddressExhaustedError':
      throw ValidationError.field(String(result.field), message);
    default:
      throw new OsError(500, message);
  }
}
