import type { RequestHandler, Response } from 'express';
import { OsError } from '../errors.ts';

/** The newest microversion whose request and response shapes every route here follows. */
export const MAX_VERSION = '2.79';
export const MIN_VERSION = '2.1';

export interface Microversion {
  major: number;
  minor: number;
}

const parse = (v: string): Microversion | null => {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
};
const MAX = parse(MAX_VERSION)!;

/** The version the request asked for: `OpenStack-API-Version: compute X` first, then the legacy header. */
function requested(header: unknown, legacy: unknown): string | undefined {
  if (typeof header === 'string') {
    const m = /(?:^|,)\s*compute\s+([^,\s]+)/i.exec(header);
    if (m) return m[1];
  }
  return typeof legacy === 'string' ? legacy : undefined;
}

/** Negotiates as Nova does: absent means 2.1, `latest` the maximum, anything outside the range a 406. */
export function microversion(): RequestHandler {
  return (req, res, next) => {
    const asked = requested(req.headers['openstack-api-version'], req.headers['x-openstack-nova-api-version']);
    const v = asked === undefined ? parse(MIN_VERSION)! : asked.toLowerCase() === 'latest' ? MAX : parse(asked);
    if (!v) return next(new OsError(400, `Invalid API version request string ${asked}`));
    if (v.major !== 2 || v.minor < 1 || v.minor > MAX.minor) {
      return next(new OsError(406, `Version ${asked} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`));
    }
    const text = `${v.major}.${v.minor}`;
    res.locals.microversion = v;
    res.set({
      'openstack-api-version': `compute ${text}`,
      'x-openstack-nova-api-version': text,
      vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
    });
    next();
  };
}

/** True when the request's microversion is at least 2.`minor`. */
export function atLeast(res: Response, minor: number): boolean {
  return (res.locals.microversion as Microversion).minor >= minor;
}
