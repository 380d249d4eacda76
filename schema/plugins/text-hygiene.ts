import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import {
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLFieldResolver,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLResolveInfo,
} from 'graphql';
import { ValidationError, type FieldIssue } from '../../core/errors.ts';
import { textIssue } from '../../core/text.ts';

/**
 * Text hygiene in one place: before any resolver runs, every String, ID and JSON value among its
 * arguments (variables and literals alike, at any depth of the input types) is checked for what
 * PostgreSQL refuses and for length (core/text.ts), and String values are put in Unicode NFC, so
 * names that look the same compare the same. A field that must keep its bytes (user data, console
 * output) says so with `extensions: { verbatim: true }`. A refusal is a ValidationError naming the
 * field, e.g. `input.metadata[2].value`; inside the errors plugin, so mutations return it typed.
 */
export class TextHygienePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    if (Object.keys(fieldConfig.args).length === 0) return resolver;
    return (parent: unknown, args: object, ctx: Types['Context'], info: GraphQLResolveInfo) => resolver(parent, cleanArgs(args, info), ctx, info);
  }

  override wrapSubscribe(subscribe: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined, fieldConfig: PothosOutputFieldConfig<Types>) {
    if (!subscribe || Object.keys(fieldConfig.args).length === 0) return subscribe;
    return (parent: unknown, args: object, ctx: Types['Context'], info: GraphQLResolveInfo) => subscribe(parent, cleanArgs(args, info), ctx, info);
  }
}

function cleanArgs(args: object, info: GraphQLResolveInfo): object {
  const defs = info.parentType.getFields()[info.fieldName]!.args;
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown> = { ...args };
  for (const def of defs) {
    if (def.name in out) out[def.name] = clean(def.type, out[def.name], def.name, def, issues);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return out;
}

function clean(type: GraphQLInputType, value: unknown, path: string, def: GraphQLArgument | GraphQLInputField, issues: FieldIssue[]): unknown {
  if (value === null || value === undefined) return value;
  if (isNonNullType(type)) return clean(type.ofType, value, path, def, issues);
  if (isListType(type)) {
    return Array.isArray(value) ? value.map((v, i) => clean(type.ofType, v, `${path}[${i}]`, def, issues)) : clean(type.ofType, value, path, def, issues);
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = fields[k] ? clean(fields[k].type, v, `${path}.${k}`, fields[k], issues) : v;
    }
    return out;
  }
  if (type.name === 'JSON') return checkJson(value, path, issues);
  if (type.name !== 'String' && type.name !== 'ID') return value;
  const issue = textIssue(value as string);
  if (issue) {
    issues.push({ field: path, message: issue });
    return value;
  }
  return type.name === 'String' && def.extensions?.verbatim !== true ? (value as string).normalize('NFC') : value;
}

/** JSON values are kept as sent; their strings (keys too) are only checked. */
function checkJson(value: unknown, path: string, issues: FieldIssue[]): unknown {
  if (typeof value === 'string') {
    const issue = textIssue(value);
    if (issue) issues.push({ field: path, message: issue });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, `${path}[${i}]`, issues));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const issue = textIssue(k);
      if (issue) issues.push({ field: `${path}.${k}`, message: `key ${issue}` });
      checkJson(v, `${path}.${k}`, issues);
    }
  }
  return value;
}

const pluginName = 'textHygiene';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      textHygiene: TextHygienePlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, TextHygienePlugin);

export default pluginName;
