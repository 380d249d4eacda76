import { NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import { quotaResourceNames, quotaSetSchema, type QuotaSet } from '../schema/documents/quota.ts';
import { mutationErrors } from '../schema/errors.ts';
import { QuotaLineType, SetQuotaInput } from '../schema/types/quota.ts';
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

builder.mutationFields((t) => ({
  setQuota: t.field({
    type: [QuotaLineType],
    description: "Sets one limit of a project (or the default); answers with that project's quotas. Lowering a limit below usage is allowed: new requests are refused.",
    args: { input: t.arg({ type: SetQuotaInput, required: true }) },
    authScopes: { policy: 'quota:update' },
    errors: mutationErrors('SetQuota', 'quotas'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const q = validate<QuotaSet>(quotaSetSchema, { ...(input.project ? { project: input.project } : {}), resource: input.resource, limit: input.limit ?? null });
      const p = q.project ? await findProject(ctx.sql, q.project) : null;
      if (q.project && !p) throw new NotFoundError('project', q.project, 'input.project');
      if (!p && q.limit === null) throw ValidationError.field('input.limit', 'a default needs a limit');
      return ctx.sql.begin(async (tx) => {
        if (!p) await tx`update quota_defaults set hard_limit = ${q.limit!} where resource = ${q.resource}`;
        else if (q.limit === null) await tx`delete from quota_limits where project_id = ${p.id} and resource = ${q.resource}`;
        else {
          await tx`insert into quota_limits (project_id, resource, hard_limit) values (${p.id}, ${q.resource}, ${q.limit})
                   on conflict (project_id, resource) do update set hard_limit = excluded.hard_limit`;
        }
        return lines(tx, p?.id ?? user.projectId, null);
      });
    },
  }),
}));
