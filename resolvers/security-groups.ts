import { ConflictError, NotFoundError } from '../core/errors.ts';
import { checkRule } from '../core/security-group-rule.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import { securityGroupRuleSpecSchema, securityGroupSpecSchema, type SecurityGroupRuleSpec, type SecurityGroupSpec } from '../schema/documents/network.ts';
import { mutationErrors } from '../schema/errors.ts';
import { SecurityGroup, SecurityGroupInput, SecurityGroupRule, SecurityGroupRuleInput } from '../schema/types/security-group.ts';
import { isUuid } from '../store/instances.ts';
import { DEFAULT_GROUP, ensureDefaultGroup, findSecurityGroup, type SecurityGroupRow, type SecurityGroupRuleRow } from '../store/security-groups.ts';
import { compact } from './compact.ts';
import { requireUser } from './scope.ts';
import { uniqueViolation } from './sql-errors.ts';

/** A group of the caller's project, `default` made if this is its first use. */
async function ownGroup(tx: TxSql, projectId: string, ref: string, field: string): Promise<SecurityGroupRow> {
  if (ref === DEFAULT_GROUP) await ensureDefaultGroup(tx, projectId);
  const g = await findSecurityGroup(tx, ref, projectId);
  if (!g) throw new NotFoundError('security group', ref, field);
  return g;
}

builder.queryFields((t) => ({
  securityGroups: t.field({
    type: [SecurityGroup],
    authScopes: { policy: 'security_group:list' },
    resolve: (_r, _a, ctx) =>
      ctx.sql<SecurityGroupRow[]>`select * from security_groups where project_id = ${requireUser(ctx).projectId} order by name`,
  }),
  securityGroup: t.field({
    type: SecurityGroup,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'security_group:list' },
    resolve: async (_r, { ref }, ctx) => (await findSecurityGroup(ctx.sql, ref, requireUser(ctx).projectId)) ?? null,
  }),
}));

builder.mutationFields((t) => ({
  createSecurityGroup: t.field({
    type: SecurityGroup,
    description: 'A new group with Neutron\'s starting rules: all egress, no ingress.',
    args: { input: t.arg({ type: SecurityGroupInput, required: true }) },
    authScopes: { policy: 'security_group:create' },
    errors: mutationErrors('CreateSecurityGroup', 'securityGroup'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<SecurityGroupSpec>(securityGroupSpecSchema, compact(input));
      try {
        return await ctx.sql.begin(async (tx) => {
          await ensureDefaultGroup(tx, user.projectId);
          const [g] = await tx<SecurityGroupRow[]>`
            insert into security_groups (project_id, name, description) values (${user.projectId}, ${s.name}, ${s.description ?? ''})
            returning *`;
          await tx`insert into security_group_rules (group_id, direction, ethertype)
                   values (${g!.id}, 'egress', 'IPv4'), (${g!.id}, 'egress', 'IPv6')`;
          return g!;
        });
      } catch (e) {
        if (uniqueViolation(e)) throw new ConflictError(`your project already has a security group named ${s.name}`);
        throw e;
      }
    },
  }),
  deleteSecurityGroup: t.field({
    type: SecurityGroup,
    description: 'Refused for `default` and for a group a port is in; rules of other groups naming it as remote go with it.',
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'security_group:delete' },
    errors: mutationErrors('DeleteSecurityGroup', 'securityGroup'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const g = await ownGroup(tx, requireUser(ctx).projectId, ref, 'ref');
        if (g.name === DEFAULT_GROUP) throw new ConflictError('the default security group cannot be deleted', 'default');
        await tx`select 1 from security_groups where id = ${g.id} for update`;
        const [use] = await tx<{ n: number }[]>`select count(*)::int as n from port_security_groups where group_id = ${g.id}`;
        if (use!.n > 0) throw new ConflictError(`security group ${g.name} is in use by ${use!.n} port(s)`, 'in-use');
        await tx`delete from security_groups where id = ${g.id}`;
        return g;
      }),
  }),
  createSecurityGroupRule: t.field({
    type: SecurityGroupRule,
    args: { input: t.arg({ type: SecurityGroupRuleInput, required: true }) },
    authScopes: { policy: 'security_group:update' },
    errors: mutationErrors('CreateSecurityGroupRule', 'rule'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<SecurityGroupRuleSpec>(securityGroupRuleSpecSchema, compact(input));
      const { ethertype, remoteCidr } = checkRule(s);
      return ctx.sql.begin(async (tx) => {
        const g = await ownGroup(tx, user.projectId, s.securityGroup, 'input.securityGroup');
        const remote = s.remoteGroup !== undefined ? await ownGroup(tx, user.projectId, s.remoteGroup, 'input.remoteGroup') : null;
        const [rule] = await tx<SecurityGroupRuleRow[]>`
          insert into security_group_rules (group_id, direction, ethertype, protocol, port_min, port_max, remote_cidr, remote_group_id)
          values (${g.id}, ${s.direction}, ${ethertype}, ${s.protocol ?? null}, ${s.portMin ?? null}, ${s.portMax ?? null},
                  ${remoteCidr}::cidr, ${remote?.id ?? null})
          returning id, group_id, direction, ethertype, protocol, port_min, port_max, remote_cidr::text, remote_group_id, created_at`;
        return rule!;
      });
    },
  }),
  deleteSecurityGroupRule: t.field({
    type: SecurityGroupRule,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'security_group:update' },
    errors: mutationErrors('DeleteSecurityGroupRule', 'rule'),
    resolve: async (_r, { id }, ctx) => {
      const user = requireUser(ctx);
      if (!isUuid(String(id))) throw new NotFoundError('security group rule', String(id), 'id');
      const [rule] = await ctx.sql<SecurityGroupRuleRow[]>`
        delete from security_group_rules r using security_groups g
         where r.id = ${String(id)} and g.id = r.group_id and g.project_id = ${user.projectId}
        returning r.id, r.group_id, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, r.remote_cidr::text, r.remote_group_id, r.created_at`;
      if (!rule) throw new NotFoundError('security group rule', String(id), 'id');
      return rule;
    },
  }),
}));
