import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  isUnionType,
  type GraphQLSchema,
} from 'graphql';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { PAGE_SIZE } from '../schema/page-size.ts';

/** A list whose length nothing bounds (an instance's actions, a host's networks) is priced as this many items. */
export const DEFAULT_LIST_SIZE = 10;

/**
 * The cost model: roughly how many values an operation makes the server resolve. A field costs 1
 * plus what is selected under it; a list multiplies what is selected under it by its length: a
 * connection by its page (`first`/`last`, capped as the resolvers cap it), an introspection list by
 * the schema's real sizes (a walk of `__schema.types` visits every type), any other list by
 * DEFAULT_LIST_SIZE. Unions and interfaces cost their dearest member.
 */
export function costEstimator(schema: GraphQLSchema): ComplexityEstimator {
  const introspection = introspectionListSizes(schema);
  return ({ type, field, args, childComplexity }) => {
    const connection = getNamedType(field.type).name.endsWith('Connection') && field.args.some((a) => a.name === 'first');
    if (connection) return 1 + childComplexity * pageSize(args);
    // The page is priced once, on the connection field.
    if (type.name.endsWith('Connection') && (field.name === 'edges' || field.name === 'nodes')) return 1 + childComplexity;
    const size = introspection.get(`${type.name}.${field.name}`);
    if (size !== undefined) return 1 + childComplexity * size;
    return 1 + childComplexity * (isListType(getNullableType(field.type)) ? DEFAULT_LIST_SIZE : 1);
  };
}

function pageSize(args: Record<string, unknown>): number {
  const asked = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : PAGE_SIZE.defaultSize;
  return Math.max(0, Math.min(asked, PAGE_SIZE.maxSize));
}

/** The mean length of each introspection list in this schema. */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const withFields = types.filter((t) => isObjectType(t) || isInterfaceType(t));
  const fields = withFields.flatMap((t) => Object.values(t.getFields()));
  const abstract = types.filter((t) => isUnionType(t) || isInterfaceType(t));
  const directives = schema.getDirectives();
  const mean = (total: number, of: number) => total / Math.max(1, of);
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', mean(fields.length, withFields.length)],
    ['__Type.interfaces', mean(withFields.reduce((n, t) => n + t.getInterfaces().length, 0), withFields.length)],
    ['__Type.possibleTypes', mean(abstract.reduce((n, t) => n + schema.getPossibleTypes(t).length, 0), abstract.length)],
    ['__Type.enumValues', mean(types.filter(isEnumType).reduce((n, t) => n + t.getValues().length, 0), types.filter(isEnumType).length)],
    ['__Type.inputFields', mean(types.filter(isInputObjectType).reduce((n, t) => n + Object.keys(t.getFields()).length, 0), types.filter(isInputObjectType).length)],
    ['__Field.args', mean(fields.reduce((n, f) => n + f.args.length, 0), fields.length)],
    ['__Directive.args', mean(directives.reduce((n, d) => n + d.args.length, 0), directives.length)],
    // Most type references are a name or one wrapper deep; a chain of eight `ofType` is priced as it ends.
    ['__Type.ofType', 0.5],
  ]);
}
