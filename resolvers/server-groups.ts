import { NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { serverGroupSpecSchema, type ServerGroupSpec } from '../schema/documents/server-group.ts';
import { mutationErrors } from '../schema/errors.ts';
import { ServerGroup, ServerGroupInput, type ServerGroupView } from '../schema/types/server-group.ts';
import { checkQuota, lockQuotaHolder, quotaUsage } from '../store/quotas.ts';
import { findServerGroup, type ServerGroupRow } from '../store/server-groups.ts';
import { readScope, requireUser } from './scope.ts';

/** Groups with their members in one query: of one project (null: all), or the one with this id. */
async function loadGroups(sql: Sql | TxSql, projectId: string | null, id: string | null): Promise<ServerGroupView[]> {
  return sql<ServerGroupView[]>`
    select g.*, coalesce(json_agg(json_build_object('instance_id', i.id, 'name', i.name, 'host', h.name) order by i.created_at)
                         filter (where i.id is not null), '[]') as members
      from server_groups g
      left join server_group_members m on m.group_id = g.id
      left join instances i on i.id = m.instance_id
      left join hosts h on h.id = i.host_id
     where (${projectId}::uuid is null or g.project_id = ${projectId}::uuid) and (${id}::uuid is null or g.id = ${id}::uuid)
     group by g.id
     order by g.name, g.created_at`;
}

/** The caller's group (admins: any project's); other projects' groups are simply not found. */
async function visibleGroup(sql: Sql | TxSql, ctx: Context, ref: string): Promise<ServerGroupRow | undefined> {
  const user = requireUser(ctx);
  const admin = ctx.policy.allows(ctx.principal, 'server_group:list_all_projects');
  return findServerGroup(sql, ref, admin ? null : user.projectId);
}

builder.queryFields((t) => ({
  serverGroups: t.field({
    type: [ServerGroup],
    args: { allProjects: t.arg.boolean() },
    authScopes: { policy: 'server_group:list' },
    resolve: (_r, { allProjects }, ctx) => loadGroups(ctx.sql, readScope(ctx, allProjects, 'server_group:list_all_projects'), null),
  }),
  serverGroup: t.field({
    type: ServerGroup,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'server_group:list' },
    resolve: async (_r, { ref }, ctx) => {
      const g = await visibleGroup(ctx.sql, ctx, ref);
      return g ? ((await loadGroups(ctx.sql, null, g.id))[0] ?? null) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createServerGroup: t.field({
    type: ServerGroup,
    description: 'A group in your project; instances join it with createInstance(serverGroup).',
    args: { input: t.arg({ type: ServerGroupInput, required: true }) },
    authScopes: { policy: 'server_group:create' },
    errors: mutationErrors('CreateServerGroup', 'serverGroup'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const max = input.maxServerPerHost ?? undefined;
      const s = validate<ServerGroupSpec>(serverGroupSpecSchema, {
        name: input.name, policy: input.policy, ...(max !== undefined ? { rules: { maxServerPerHost: max } } : {}),
      });
      if (s.rules?.maxServerPerHost !== undefined && s.policy !== 'anti-affinity') {
        throw ValidationError.field('input.maxServerPerHost', 'applies only to the anti-affinity policy');
      }
      return ctx.sql.begin(async (tx) => {
        await lockQuotaHolder(tx, user.projectId);
        const use = await quotaUsage(tx, user.projectId, null);
        await checkQuota(tx, user.projectId, { server_groups: { requested: 1, inUse: use.server_groups } });
        const [row] = await tx<{ id: string }[]>`
          insert into server_groups (project_id, user_id, name, policy, max_server_per_host)
          values (${user.projectId}, ${user.userId}, ${s.name}, ${s.policy}, ${s.rules?.maxServerPerHost ?? null})
          returning id`;
        return (await loadGroups(tx, null, row!.id))[0]!;
      });
    },
  }),
  deleteServerGroup: t.field({
    type: ServerGroup,
    description: 'Deletes the group even with members (as Nova does): they stay where they are and leave the group.',
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'server_group:delete' },
    errors: mutationErrors('DeleteServerGroup', 'serverGroup'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const g = await visibleGroup(tx, ctx, ref);
        if (!g) throw new NotFoundError('server group', ref, 'ref');
        const view = (await loadGroups(tx, null, g.id))[0]!;
        await tx`delete from server_groups where id = ${g.id}`;
        return view;
      }),
  }),
}));
