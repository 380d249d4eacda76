import { Ajv, type ErrorObject } from 'ajv';
import { ValidationError, type FieldIssue } from './errors.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

function issueOf(e: ErrorObject, root: string): FieldIssue {
  const path = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'required') path.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') path.push(String(e.params.additionalProperty));
  const field = [root, ...path].join('.');
  const message =
    e.keyword === 'additionalProperties' ? 'is not a known field' :
    e.keyword === 'required' ? 'is required' :
    e.keyword === 'enum' ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` :
    e.message ?? 'is invalid';
  return { field, message };
}

/**
 * Checks `value` against a desired-state JSON Schema and returns it typed, or throws a
 * ValidationError naming every offending field (prefixed with `root`, e.g. `input.ramMb`).
 */
export function validate<T>(schema: { $id: string }, value: unknown, root = 'input'): T {
  const check = ajv.getSchema(schema.$id) ?? (ajv.addSchema(schema), ajv.getSchema(schema.$id)!);
  if (check(value)) return value as T;
  const seen = new Set<string>();
  const issues = (check.errors ?? []).map((e) => issueOf(e, root)).filter((i) => {
    const key = `${i.field}\0${i.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  throw new ValidationError(issues);
}
