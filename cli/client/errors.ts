/** A failure the user can act on: printed as `error: …` plus detail lines, never with a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** Selection for the error side of a typed mutation result (`… | ValidationError | NotFoundError | …`). */
export const ERROR_FIELDS = `__typename
  ... on Error { message }
  ... on ValidationError { field issues { field message } }
  ... on NotFoundError { field }
  ... on ConflictError { currentState }`;

interface MutationResult {
  __typename: string;
  message?: string;
  field?: string;
  issues?: { field: string }[];
  currentState?: string | null;
}

/** The success member of a typed mutation result; any error member becomes a CliError. */
export function unwrap<T>(result: MutationResult & T): T {
  if (result.__typename.endsWith('Success')) return result;
  const fields = new Set([...(result.issues ?? []).map((i) => i.field), ...(result.field ? [result.field] : [])]);
  throw new CliError(result.message ?? result.__typename, [
    ...[...fields].map((f) => `field: ${f}`),
    ...(result.currentState ? [`current state: ${result.currentState}`] : []),
  ]);
}
