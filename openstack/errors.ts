import {
  AddressExhaustedError, ConflictError, ForbiddenError, NotFoundError, QuotaExceededError, ValidationError,
} from '../core/errors.ts';

/** An answer with an OpenStack status; each API wraps it in its own error body (see `body`). */
export class OsError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const NOVA_KEYS: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod',
  406: 'notAcceptable', 409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit',
  501: 'notImplemented',
};
const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Request Entity Too Large', 415: 'Unsupported Media Type',
  429: 'Too Many Requests', 500: 'Internal Server Error',
};

export type Api = 'identity' | 'compute' | 'image';

/** Nova's `{"itemNotFound": {...}}`, Keystone's `{"error": {...}}`, Glance's flat body. */
export function errorBody(api: Api, status: number, message: string): object {
  if (api === 'compute') return { [NOVA_KEYS[status] ?? 'computeFault']: { code: status, message } };
  if (api === 'identity') return { error: { code: status, title: TITLES[status] ?? 'Error', message } };
  return { code: `${status} ${TITLES[status] ?? 'Error'}`, title: TITLES[status] ?? 'Error', message };
}

/**
 * Orrery's typed errors as OpenStack statuses. Quota is 403 as Nova answers it; a NotFoundError
 * about an input field (a flavorRef that does not exist) is the caller's bad request, as in Nova.
 */
export function statusOf(e: unknown): OsError | undefined {
  if (e instanceof OsError) return e;
  if (e instanceof ValidationError || e instanceof AddressExhaustedError) return new OsError(400, e.message);
  if (e instanceof NotFoundError) return new OsError(/^inputs?\b/.test(e.field) ? 400 : 404, e.message);
  if (e instanceof ConflictError) return new OsError(409, e.message);
  if (e instanceof ForbiddenError || e instanceof QuotaExceededError) return new OsError(403, e.message);
  return undefined;
}

/**
 * The same refusal in the words of the request the client sent: GraphQL's input fields
 * (`input.flavor`) become the body's (`server.flavorRef`).
 */
export function renamed<T>(fields: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const rename = (field: string) => {
    const hit = Object.keys(fields).find((f) => field === f || field.startsWith(`${f}.`));
    return hit ? fields[hit] + field.slice(hit.length) : field;
  };
  return work().catch((e: unknown) => {
    if (e instanceof ValidationError) throw new ValidationError(e.issues.map((i) => ({ ...i, field: rename(i.field) })));
    if (e instanceof NotFoundError) throw new OsError(400, `${e.message} (${rename(e.field)})`);
    throw e;
  });
}
