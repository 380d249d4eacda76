import express, { Router, type Request, type Response } from 'express';
import { validBody } from '../validate.ts';
import { checkPassword } from '../../store/passwords.ts';
import {
  issueSessionToken, memberProject, memberProjects, revokeToken, tokenDetails, userNameById, visibleProject, type TokenDetails,
} from '../../store/session-tokens.ts';
import { OsError } from '../errors.ts';
import { run } from '../graphql.ts';
import { LoginGate } from './login-gate.ts';
import { authenticated, callerIsAdmin, ctxOf, errors, notFound, publicBase, requestIds, route, userOf, type BaseContext } from '../http.ts';
import { allow, allowed } from '../policy.ts';
import { authRequestSchema, type AuthRequest } from './auth-schema.ts';
import { catalog } from './catalog.ts';

/** Keystone's default lifetime is a day; a login token here lives as long, then must be renewed. */
const TOKEN_TTL_SECONDS = 24 * 3600;
const DOMAIN = { id: 'default', name: 'Default' };
// Orrery's roles nest (admin implies member implies reader); Keystone lists the implied ones too.
const IMPLIED: Record<string, string[]> = { admin: ['admin', 'member', 'reader'], member: ['member', 'reader'], reader: ['reader'] };

export function versionDoc(base: string) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${base}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function tokenBody(req: Request, t: TokenDetails, methods: string[]) {
  const roles = [...new Set(t.roles.flatMap((r) => IMPLIED[r] ?? [r]))];
  return {
    token: {
      methods,
      audit_ids: [t.id.replace(/-/g, '').slice(0, 22)],
      issued_at: t.created_at.toISOString(),
      expires_at: (t.expires_at ?? new Date('9999-12-31T00:00:00Z')).toISOString(),
      is_domain: false,
      user: { id: t.user_id, name: t.user_name, domain: DOMAIN, password_expires_at: null },
      project: { id: t.project_id, name: t.project_name, domain: DOMAIN },
      roles: roles.map((name) => ({ id: name, name })),
      catalog: catalog(publicBase(req)),
    },
  };
}

/** The Orrery token a login answers with: a new one for a password, the credential itself for an application credential. */
async function login(base: BaseContext, body: AuthRequest): Promise<{ secret: string; methods: string[] }> {
  const { identity, scope } = body.auth;
  const wanted = typeof scope === 'object' && scope.project ? scope.project : {};
  if (identity.methods.includes('password') && identity.password) {
    const u = identity.password.user;
    const user = u.name
      ? await checkPassword(base.sql, u.name, u.password)
      : await userNameById(base.sql, u.id ?? '').then((name) => (name ? checkPassword(base.sql, name, u.password) : null));
    if (!user) throw new OsError(401, 'The request you have made requires authentication.');
    const project = await memberProject(base.sql, user.id, wanted);
    if (!project) throw new OsError(401, `user ${user.name} has no role in the requested project`);
    const token = await issueSessionToken(base.sql, user.id, project.id, TOKEN_TTL_SECONDS, 'openstack password login');
    return { secret: token.secret, methods: ['password'] };
  }
  // An application credential is an Orrery API token (`orrery create token`): it already names its project.
  const secret = identity.application_credential?.secret ?? identity.token?.id;
  if (secret && (await tokenDetails(base.sql, secret))) {
    return { secret, methods: [identity.application_credential ? 'application_credential' : 'token'] };
  }
  throw new OsError(401, 'The request you have made requires authentication.');
}

/** The token named by X-Subject-Token, which its owner or an admin may look at or revoke. */
async function subjectToken(req: Request, res: Response): Promise<TokenDetails> {
  const subject = req.headers['x-subject-token'];
  const details = typeof subject === 'string' ? await tokenDetails(ctxOf(res).sql, subject) : undefined;
  if (!details) throw new OsError(404, 'Could not find token.');
  if (details.user_id !== userOf(res).userId && !callerIsAdmin(res)) throw new OsError(403, 'You are not authorized to perform the requested action: identity:validate_token.');
  return details;
}

export function identityRouter(base: BaseContext): Router {
  const r = Router();
  const logins = new LoginGate(2, 16);
  r.use(requestIds('identity', base.log), express.json({ limit: '64kb' }));
  r.get(['/', ''], (req, res) => {
    res.json({ version: versionDoc(publicBase(req)) });
  });
  r.post('/auth/tokens', route(async (req, res) => {
    const body = validBody<AuthRequest>(authRequestSchema, req.body);
    const { secret, methods } = await logins.run(() => login(base, body));
    const details = (await tokenDetails(base.sql, secret))!;
    res.status(201).set('x-subject-token', secret).json(tokenBody(req, details, methods));
  }));
  r.use(authenticated(base));
  r.get('/auth/tokens', route(async (req, res) => {
    const details = await subjectToken(req, res);
    res.set('x-subject-token', String(req.headers['x-subject-token'])).json(tokenBody(req, details, ['password']));
  }));
  r.head('/auth/tokens', route(async (req, res) => {
    await subjectToken(req, res);
    res.status(200).end();
  }));
  r.delete('/auth/tokens', route(async (req, res) => {
    const details = await subjectToken(req, res);
    await revokeToken(base.sql, details.id);
    res.status(204).end();
  }));
  r.get('/auth/projects', route(async (req, res) => {
    const rows = await memberProjects(base.sql, userOf(res).userId);
    res.json({ projects: rows.map((p) => projectView(req, p)), links: { self: `${publicBase(req)}/identity/v3/auth/projects` } });
  }));
  r.get('/projects', allow('identity:list_projects'), route(async (req, res) => {
    const d = await run<{ projects: { id: string; name: string; description: string }[] }>(ctxOf(res), `{ projects { id name description } }`);
    const name = typeof req.query.name === 'string' ? req.query.name : undefined;
    res.json({ projects: d.projects.filter((p) => !name || p.name === name).map((p) => projectView(req, p)), links: { self: `${publicBase(req)}/identity/v3/projects` } });
  }));
  r.get('/projects/:id', route(async (req, res) => {
    const p = await visibleProject(base.sql, String(req.params.id), userOf(res).userId, allowed(res, 'identity:list_projects'));
    if (!p) throw new OsError(404, `Could not find project: ${req.params.id}.`);
    res.json({ project: projectView(req, p) });
  }));
  r.get('/users', allow('identity:list_users'), route(async (req, res) => {
    const d = await run<{ users: { id: string; name: string }[] }>(ctxOf(res), `{ users { id name } }`);
    res.json({
      users: d.users.map((u) => ({ id: u.id, name: u.name, domain_id: DOMAIN.id, enabled: true, links: { self: `${publicBase(req)}/identity/v3/users/${u.id}` } })),
      links: { self: `${publicBase(req)}/identity/v3/users` },
    });
  }));
  r.use(notFound('identity'));
  r.use(errors('identity', base));
  return r;
}

function projectView(req: Request, p: { id: string; name: string; description: string }) {
  return {
    id: p.id, name: p.name, description: p.description, domain_id: DOMAIN.id, parent_id: DOMAIN.id, enabled: true, is_domain: false, tags: [],
    links: { self: `${publicBase(req)}/identity/v3/projects/${p.id}` },
  };
}
