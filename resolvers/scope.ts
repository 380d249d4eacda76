import { ForbiddenError } from '../core/errors.ts';
import { isAdmin, type Principal } from '../core/principal.ts';
import type { Context } from '../schema/context.ts';

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;
export type HostPrincipal = Extract<Principal, { kind: 'host' }>;

export function requireUser(ctx: Context): UserPrincipal {
  if (ctx.principal.kind !== 'user') throw new ForbiddenError('this operation needs a user token');
  return ctx.principal;
}

export function requireHost(ctx: Context): HostPrincipal {
  if (ctx.principal.kind !== 'host') throw new ForbiddenError('this operation needs a host credential');
  return ctx.principal;
}

/**
 * The project a read is confined to: always the caller's own, unless an admin asks for all
 * projects (Nova's all_tenants), which the policy rule `allProjectsRule` must also allow.
 */
export function readScope(ctx: Context, allProjects: boolean | null | undefined, allProjectsRule: string): string | null {
  const user = requireUser(ctx);
  if (!allProjects) return user.projectId;
  if (!ctx.policy.allows(ctx.principal, allProjectsRule)) {
    throw new ForbiddenError(`listing all projects needs the ${allProjectsRule} rule`);
  }
  return null;
}

export function callerIsAdmin(ctx: Context): boolean {
  return isAdmin(ctx.principal);
}
