import { AddressExhaustedError, ConflictError, ForbiddenError, NotFoundError, QuotaExceededError, ValidationError } from '../core/errors.ts';
import { builder } from './builder.ts';

const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'A failed mutation: nothing was written.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldIssue = builder.objectRef<{ field: string; message: string }>('FieldIssue').implement({
  fields: (t) => ({ field: t.exposeString('field'), message: t.exposeString('message') }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof ValidationError,
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The first offending field, e.g. input.ramMb' }),
    issues: t.field({ type: [FieldIssue], resolve: (e) => e.issues }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof NotFoundError,
  fields: (t) => ({
    resource: t.exposeString('resource'),
    ref: t.exposeString('ref'),
    field: t.exposeString('field'),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof ConflictError,
  fields: (t) => ({ currentState: t.exposeString('currentState', { nullable: true }) }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof ForbiddenError,
  fields: () => ({}),
});

builder.objectType(QuotaExceededError, {
  name: 'QuotaExceededError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof QuotaExceededError,
  fields: (t) => ({
    resource: t.exposeString('resource', { description: 'e.g. cores, instances, server_group_members' }),
    requested: t.exposeInt('requested'),
    inUse: t.exposeInt('inUse'),
    limit: t.exposeInt('limit'),
  }),
});

builder.objectType(AddressExhaustedError, {
  name: 'AddressExhaustedError',
  interfaces: [ErrorInterface],
  isTypeOf: (o) => o instanceof AddressExhaustedError,
  fields: (t) => ({
    subnetId: t.exposeID('subnetId'),
    cidr: t.exposeString('cidr'),
    field: t.exposeString('field'),
  }),
});

const ALL = [ValidationError, NotFoundError, ConflictError, ForbiddenError, QuotaExceededError, AddressExhaustedError];

/** The typed-error options of a mutation: `<Name>Result = <Name>Success | ValidationError | …`. */
export function mutationErrors(name: string, dataField: string) {
  return {
    types: ALL,
    result: { name: `${name}Success` },
    union: { name: `${name}Result` },
    dataField: { name: dataField },
  };
}
