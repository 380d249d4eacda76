import { NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import { builder } from '../schema/builder.ts';
import { quotaResourceNames, quotaSetSchema, quotaSetsSchema, type QuotaSet, type QuotaSets } from '../schema/documents/quota.ts';
import { mutationErrors } from '../schema/errors.ts';
import { QuotaLineType, SetQuotaInput, SetQuotasInput } from '../schema/types/quota.ts';
import { quotaLimits, quotaUsage, type QuotaLine } from '../store/quotas.ts';
import { findProject } from '../store/references.ts';
import { requireUser } from './scope.ts';

async function lines(sql: Sql | TxSql, projectId: string, userId: string | null): Promise<QuotaLine[]> {
  const limits = await quotaLimits(sql, projectId);
  const use = await quotaUsage(sql, projectId, userId);
  return quotaResourceNames.map((resource) => ({ resource, ...limits.get(resource)!, inUse: use[resource] }));
}

builder.queryFields((t) => ({
  quotas: t.field({
    type: [QuotaLineType],
    description: "Limits and usage of your project (admins: of any project, by name or ID).",
    args: { project: t.arg.string() },
    authScopes: { policy: 'quota:show' },
    resolve: async (_r, { project }, ctx) => {
      const user = requireUser(ctx);
      if (!project) return lines(ctx.sql, user.projectId, user.userId);
      const p = await findProject(ctx.sql, project);
      const mine = p?.id === user.projectId;
      if (!p || (!mine && !ctx.policy.allows(ctx.principal, 'quota:show_all_projects'))) throw new NotFoundError('project', project, 'project');
      return lines(ctx.sql, p.id, mine ? user.userId : null);
    },
  }),
}));

/** Writes validated limits of a project (or the defaults) in one transaction; `field` names a limit in the input. */
async function setLimits(ctx: Context, project: string | undefined, limits: QuotaSets['limits'], field: (n: number) => string): Promise<QuotaLine[]> {
  const user = requireUser(ctx);
  const p = project ? await findProject(ctx.sql, project) : null;
  if (project && !p) throw new NotFoundError('project', project, 'input.project');
  const unset = limits.findIndex((l) => l.limit === null);
  if (!p && unset >= 0) throw ValidationError.field(field(unset), 'a default needs a limit');
  return ctx.sql.begin(async (tx) => {
    for (const { resource, limit } of limits) {
      if (!p) await tx`update quota_defaults set hard_limit = ${limit!} where resource = ${resource}`;
      else if (limit === null) await tx`delete from quota_limits where project_id = ${p.id} and resource = ${resource}`;
      else {
        await tx`insert into quota_limits (project_id, resource, hard_limit) values (${p.id}, ${resource}, ${limit})
                 on conflict (project_id, resource) do update set hard_limit = excluded.hard_limit`;
      }
    }
    return lines(tx, p?.id ?? user.projectId, null);
  });
}

builder.mutationFields((t) => ({
  setQuota: t.field({
    type: [QuotaLineType],
    description: "Sets one limit of a project (or the default); answers with that project's quotas. Lowering a limit below usage is allowed: new requests are refused.",
    args: { input: t.arg({ type: SetQuotaInput, required: true }) },
    authScopes: { policy: 'quota:update' },
    errors: mutationErrors('SetQuota', 'quotas'),
    resolve: async (_r, { input }, ctx) => {
      const q = validate<QuotaSet>(quotaSetSchema, { ...(input.project ? { project: input.project } : {}), resource: input.resource, limit: input.limit ?? null });
      return setLimits(ctx, q.project, [{ resource: q.resource, limit: q.limit }], () => 'input.limit');
    },
  }),
  setQuotas: t.field({
    type: [QuotaLineType],
    description: "Sets several limits of one project (or the defaults) in one transaction: all of them or none (Nova's os-quota-sets update). Answers with that project's quotas.",
    args: { input: t.arg({ type: SetQuotasInput, required: true }) },
    authScopes: { policy: 'quota:update' },
    errors: mutationErrors('SetQuotas', 'quotas'),
    resolve: async (_r, { input }, ctx) => {
      const q = validate<QuotaSets>(quotaSetsSchema, {
        ...(input.project ? { project: input.project } : {}),
        limits: input.limits.map((l) => ({ resource: l.resource, limit: l.limit ?? null })),
      });
      const twice = q.limits.findIndex((l, n) => q.limits.findIndex((o) => o.resource === l.resource) !== n);
      if (twice >= 0) throw ValidationError.field(`input.limits.${twice}.resource`, `${q.limits[twice]!.resource} is given twice`);
      return setLimits(ctx, q.project, q.limits, (n) => `input.limits.${n}.limit`);
    },
  }),
}));
