import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isAdmin, type Principal } from '../core/principal.ts';
import type { Log } from '../core/log.ts';
import type { Context } from '../schema/context.ts';
import type { BaseContext as GraphqlBase } from '../server/graphql-http.ts';
import type { MutationBudget } from '../server/mutation-budget.ts';
import { requestIdFrom } from '../server/authenticate.ts';
import { createLoaders } from '../store/loaders.ts';
import { authenticate } from '../store/tokens.ts';
import { errorBody, OsError, statusOf, type Api } from './errors.ts';

/** What GraphQL's resolvers share, and the budget of writes GraphQL's mutations draw on too. */
export type BaseContext = GraphqlBase & { mutations: MutationBudget };

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a facade route knows of its caller: the same context a GraphQL resolver gets. */
export function ctxOf(res: Response): Context {
  return res.locals.ctx as Context;
}

export function userOf(res: Response): Extract<Principal, { kind: 'user' }> {
  const p = ctxOf(res).principal;
  if (p.kind !== 'user') throw new OsError(403, 'this API needs a user token');
  return p;
}

export function callerIsAdmin(res: Response): boolean {
  return isAdmin(ctxOf(res).principal);
}

/**
 * Every answer carries its request id under OpenStack's header names, and is logged once with it
 * (writes at info, reads at debug, as GraphQL's operations are): the id the action log and the
 * reconciler's lines carry on.
 */
export function requestIds(api: Api, log: Log): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers['x-openstack-request-id']);
    const started = performance.now();
    res.locals.requestId = id;
    res.set('x-openstack-request-id', id);
    if (api === 'compute') res.set('x-compute-request-id', id);
    res.on('finish', () => {
      const level = req.method === 'GET' || req.method === 'HEAD' ? 'debug' : 'info';
      if (!log.isLevelEnabled(level)) return;
      const principal = (res.locals.ctx as Context | undefined)?.principal;
      log[level]({
        requestId: id, api, method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode,
        ...(principal?.kind === 'user' ? { user: principal.userName, project: principal.projectId } : {}),
        ms: Math.round(performance.now() - started),
      }, `openstack ${api}`);
    });
    next();
  };
}

/** X-Auth-Token on every route but discovery and login: the tokens GraphQL's bearer checks. */
export function authenticated(base: BaseContext): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = req.headers['x-auth-token'];
      const principal = typeof token === 'string' && token ? await authenticate(base.sql, token) : null;
      if (!principal) throw new OsError(401, token ? 'The request you have made requires authentication.' : 'Missing X-Auth-Token.');
      const wait = READS.has(req.method) ? null : base.mutations.takeWrites(principal, 1);
      if (wait !== null) throw new OsError(429, base.mutations.message(wait), { 'retry-after': String(wait) });
      res.locals.ctx = { ...base, principal, requestId: res.locals.requestId as string, loaders: createLoaders(base.sql) } satisfies Context;
      next();
    } catch (e) {
      next(e);
    }
  };
}

/** Async route bodies: a thrown error goes to the API's error handler. */
export function route(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

/** The last handler of each API: its own error body, Orrery's typed errors as OpenStack statuses. */
export function errors(api: Api, base: BaseContext) {
  return (e: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // express.json's own refusals (malformed JSON, too large) carry their status.
    const parsed = (e as { type?: string; status?: number }).type ? (e as { status: number; message: string }) : undefined;
    const known = statusOf(e) ?? (parsed ? new OsError(parsed.status, parsed.message) : undefined);
    if (known) {
      if (known.status === 401) res.set('www-authenticate', `Keystone uri="${publicBase(req)}/identity/v3"`);
      res.set(known.headers).status(known.status).json(errorBody(api, known.status, known.message));
      return;
    }
    base.log.error({ err: e, path: req.originalUrl, requestId: res.locals.requestId }, 'openstack request failed');
    res.status(500).json(errorBody(api, 500, 'internal error'));
  };
}

export function notFound(api: Api): RequestHandler {
  return (req, res) => {
    res.status(404).json(errorBody(api, 404, `no route ${req.method} ${req.originalUrl}`));
  };
}

/** Clients follow the links and catalog they are given, so they are built from the host they asked. */
export function publicBase(req: Request): string {
  const proto = req.headers['x-forwarded-proto'] ?? req.protocol;
  return `${String(proto).split(',')[0]}://${req.headers['x-forwarded-host'] ?? req.headers.host}`;
}
