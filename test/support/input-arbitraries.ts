import fc from 'fast-check';
import {
  isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType,
  type GraphQLArgument, type GraphQLField, type GraphQLInputType,
} from 'graphql';

/**
 * fast-check arbitraries for GraphQL input values, derived from the executable schema: mostly values
 * of the right type (hostile or plausible), now and then one the API must refuse before any
 * resolver runs (null where non-null, a string for an Int, an unknown enum value).
 */
export interface Plausible {
  /** Values that exist or pass validation for a field or argument of this name (e.g. "flavor"). */
  forField(name: string): string[];
  /** Numbers that pass validation for an Int field of this name (e.g. "ramMb"). */
  intsForField(name: string): number[];
  /** Names of things that exist (any kind), and their IDs. */
  names: string[];
  ids: string[];
}

/** One leaf in this many is of the wrong type, or null where the schema says non-null. */
const WRONG = 80;

const HOSTILE = [
  '', ' ', 'a\u0000b', '\u0000', 'a\uD800b', '\uDFFF', 'x'.repeat(65_537), 'n'.repeat(256), '😀'.repeat(70),
  '\u202Eevil', 'e\u0301', '../../etc/passwd', "'; drop table instances; --", '%s%n%x', '${x}', 'null', '0', '-1',
  '10.0.0.0/33', '999.1.1.1', '::', 'fe80::1%eth0', '0.0.0.0/0', 'ssh-rsa AAAA', '{"a":1}', '\n\t\r',
];

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
);

const int32 = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 1, 2, 1024, 65_535, 65_536, 2_147_483_647, -2_147_483_648) },
  { weight: 2, arbitrary: fc.integer() },
);

const dateTime = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2030-01-01T00:00:00Z', '1970-01-01', 'not a date', '0', '-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z'),
);

function pick<T>(values: T[]): fc.Arbitrary<T>[] {
  return values.length ? [fc.constantFrom(...values)] : [];
}

function scalar(name: string, field: string, p: Plausible): fc.Arbitrary<unknown> {
  switch (name) {
    case 'String':
      return fc.oneof(
        ...pick(p.forField(field)).map((arbitrary) => ({ weight: 6, arbitrary })),
        ...pick(p.names).map((arbitrary) => ({ weight: 1, arbitrary })),
        { weight: 3, arbitrary: text },
      );
    case 'ID':
      return fc.oneof(
        ...pick(p.ids).map((arbitrary) => ({ weight: 4, arbitrary })),
        ...pick(p.forField(field)).map((arbitrary) => ({ weight: 2, arbitrary })),
        { weight: 2, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: text },
      );
    case 'Int': return fc.oneof(...pick(p.intsForField(field)).map((arbitrary) => ({ weight: 3, arbitrary })), { weight: 2, arbitrary: int32 });
    case 'Float': return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'Boolean': return fc.boolean();
    case 'DateTime': return dateTime;
    default: return fc.jsonValue({ maxDepth: 3 }); // JSON, and any scalar added later
  }
}

/** A value the variable's type cannot take: GraphQL refuses it before any resolver runs. */
const wrongType = fc.constantFrom<unknown>(null, 2 ** 31, 2 ** 53, 1.5, '7', true, 'NOT_A_VALUE', { a: 1 }, []);

/** Values for `type`, `field` being the input field's or argument's name (list items keep it). */
export function inputValue(type: GraphQLInputType, field: string, p: Plausible, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof({ weight: WRONG, arbitrary: inputValueOf(type.ofType, field, p, depth) }, { weight: 1, arbitrary: fc.constant(null) });
  }
  return fc.option(inputValueOf(type, field, p, depth), { freq: 6, nil: null });
}

function inputValueOf(type: GraphQLInputType, field: string, p: Plausible, depth: number): fc.Arbitrary<unknown> {
  if (isListType(type)) {
    const item = inputValue(type.ofType, field, p, depth + 1);
    // A single value where a list is declared is coerced to a one-item list.
    return fc.oneof({ weight: 8, arbitrary: fc.array(item, { maxLength: 3 }) }, { weight: 1, arbitrary: item });
  }
  if (isEnumType(type)) {
    return fc.oneof({ weight: WRONG, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) }, { weight: 1, arbitrary: wrongType });
  }
  if (isScalarType(type)) return fc.oneof({ weight: WRONG, arbitrary: scalar(type.name, field, p) }, { weight: 1, arbitrary: wrongType });
  if (!isInputObjectType(type) || depth > 6) return fc.constant(null);
  const fields = Object.values(type.getFields());
  const required = fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
  const values = (fs: typeof fields) => Object.fromEntries(fs.map((f) => [f.name, inputValue(f.type, f.name, p, depth + 1)]));
  return fc.oneof(
    { weight: 2, arbitrary: fc.record(values(fields), { requiredKeys: required.map((f) => f.name) }) },
    // What is required and nothing else: the likeliest to pass validation where optional fields are many.
    { weight: 1, arbitrary: fc.record(values(required)) },
  );
}

/** The variables of a call to `m`: one per argument, optional ones sometimes left out. */
export function argumentValues(m: GraphQLField<unknown, unknown>, p: Plausible): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    Object.fromEntries(m.args.map((a) => [a.name, inputValue(a.type, a.name, p)])),
    { requiredKeys: m.args.filter(required).map((a) => a.name) },
  ) as fc.Arbitrary<Record<string, unknown>>;
}

function required(a: GraphQLArgument): boolean {
  return isNonNullType(a.type) && a.defaultValue === undefined;
}

/** `mutation($a: T!, …) { r: m(a: $a, …) <selection> }`, every argument a variable. */
export function mutationDocument(m: GraphQLField<unknown, unknown>, selection: string): string {
  const decl = m.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = m.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `mutation${decl ? `(${decl})` : ''} { r: ${m.name}${call ? `(${call})` : ''} ${selection} }`;
}
