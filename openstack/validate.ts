import { ValidationError } from '../core/errors.ts';
import { schemaIssues } from '../core/validate.ts';

/**
 * Checks a request body against its JSON Schema before the handler runs (as nova/api/validation
 * does); a 400 names each offending field by its path in the body, e.g. `server.flavorRef`.
 */
export function validBody<T>(schema: { $id: string }, body: unknown): T {
  const issues = schemaIssues(schema, body ?? {});
  if (issues.length === 0) return body as T;
  throw new ValidationError(issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
}
