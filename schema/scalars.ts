import { GraphQLError, Kind } from 'graphql';
import { ValidationError } from '../core/errors.ts';
import { builder } from './builder.ts';

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp',
  serialize: (v) => (v instanceof Date ? v.toISOString() : String(v)),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (Number.isNaN(d.getTime())) throw new GraphQLError(`not a timestamp: ${String(v)}`);
    // JavaScript dates reach year 275760 either way; PostgreSQL reads no 6-digit year (and none before 4713 BC).
    const year = d.getUTCFullYear();
    if (year < 1 || year > 9999) throw new GraphQLError(`not a timestamp from year 1 to 9999: ${String(v)}`);
    return d;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.BOOLEAN) return ast.value;
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
    if (ast.kind === Kind.NULL) return null;
    throw new GraphQLError('JSON literals must be scalars; pass objects as variables');
  },
});

/** String-to-string maps (metadata, extra specs, properties) as a list of pairs in and out. */
export const KeyValue = builder.objectRef<{ key: string; value: string }>('KeyValue').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const KeyValueInput = builder.inputType('KeyValueInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

export function toPairs(map: Record<string, string> | null | undefined): { key: string; value: string }[] {
  return Object.entries(map ?? {}).map(([key, value]) => ({ key, value }));
}

/** Pairs to a map; a repeated key is a validation error naming `field`. */
export function fromPairs(pairs: readonly { key: string; value: string }[], field: string): Record<string, string> {
  const out: Record<string, string> = {};
  pairs.forEach(({ key, value }, i) => {
    if (Object.hasOwn(out, key)) throw ValidationError.field(`${field}[${i}].key`, `repeats the key ${JSON.stringify(key)}`);
    out[key] = value;
  });
  return out;
}
