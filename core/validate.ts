import { Ajv, type ErrorObject } from 'ajv';
import { ValidationError } from './errors.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

/** One schema violation: where in the value (keys and indexes, from the root) and what is wrong. */
export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

function issueOf(e: ErrorObject): SchemaIssue {
  // JSON Pointer segments, unescaped; list indexes as numbers.
  const path: (string | number)[] = e.instancePath.split('/').slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (e.keyword === 'required') path.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') path.push(String(e.params.additionalProperty));
  const message =
    e.keyword === 'additionalProperties' ? 'is not a known field' :
    e.keyword === 'required' ? 'is required' :
    e.keyword === 'enum' ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` :
    e.keyword === 'const' ? `must be ${JSON.stringify(e.params.allowedValue)}` :
    e.message ?? 'is invalid';
  return { path, message };
}

/** Every way `value` breaks a desired-state JSON Schema (none: it conforms), each reported once. */
export function schemaIssues(schema: { $id: string }, value: unknown): SchemaIssue[] {
  const check = ajv.getSchema(schema.$id) ?? (ajv.addSchema(schema), ajv.getSchema(schema.$id)!);
  if (check(value)) return [];
  const seen = new Set<string>();
  return (check.errors ?? []).map(issueOf).filter((i) => {
    const key = `${JSON.stringify(i.path)}\0${i.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * Checks `value` against a desired-state JSON Schema and returns it typed, or throws a
 * ValidationError naming every offending field (prefixed with `root`, e.g. `input.ramMb`).
 */
export function validate<T>(schema: { $id: string }, value: unknown, root = 'input'): T {
  const issues = schemaIssues(schema, value);
  if (issues.length === 0) return value as T;
  throw new ValidationError(issues.map((i) => ({ field: [root, ...i.path].join('.'), message: i.message })));
}
