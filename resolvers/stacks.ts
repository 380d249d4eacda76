import { NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { specSchemaOf, stackNameSchema, stackRecordSchema, type StackKind, type StackRecord } from '../schema/documents/stack.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Stack, StackResource, StackResourceInput, StackResourceKind, type StackResourceRow } from '../schema/types/stack.ts';
import { findAggregate, findFlavor, findZone } from '../store/references.ts';
import { findSecurityGroup } from '../store/security-groups.ts';
import { findServerGroup } from '../store/server-groups.ts';
import { requireUser, type UserPrincipal } from './scope.ts';

/**
 * Whether the caller can see the resource, by the look-ups its own API uses: its project's
 * instances, server groups, networks and their subnets, security groups, its own key pairs, flavors as the flavor
 * list shows them (an admin sees every flavor), any zone, aggregates if it may list them. A stack
 * cannot claim what its project could not touch.
 */
async function visible(tx: TxSql, ctx: Context, user: UserPrincipal, kind: StackKind, id: string): Promise<boolean> {
  switch (kind) {
    case 'aggregate':
      return ctx.policy.allows(ctx.principal, 'aggregate:list') && (await findAggregate(tx, id)) !== undefined;
    case 'flavor':
      return (await findFlavor(tx, id, ctx.policy.allows(ctx.principal, 'flavor:create') ? null : user.projectId)) !== undefined;
    case 'availabilityZone':
      return (await findZone(tx, id)) !== undefined;
    case 'serverGroup':
      return (await findServerGroup(tx, id, user.projectId)) !== undefined;
    case 'instance':
      return (await tx`select 1 from instances where id = ${id} and project_id = ${user.projectId}`).length > 0;
    case 'keyPair':
      return (await tx`select 1 from key_pairs where id = ${id} and user_id = ${user.userId}`).length > 0;
    case 'network':
      return (await tx`select 1 from networks where id = ${id} and project_id = ${user.projectId}`).length > 0;
    case 'securityGroup':
      return (await findSecurityGroup(tx, id, user.projectId)) !== undefined;
    case 'subnet':
      return (await tx`
        select 1 from subnets s join networks n on n.id = s.network_id where s.id = ${id} and n.project_id = ${user.projectId}`).length > 0;
  }
}

builder.queryFields((t) => ({
  stack: t.field({
    type: Stack,
    nullable: true,
    description: "Your project's stack of that name: the resources `orrery apply` recorded for it (null: none).",
    args: { name: t.arg.string({ required: true }) },
    authScopes: { policy: 'stack:get' },
    resolve: async (_r, { name }, ctx) => {
      const user = requireUser(ctx);
      const resources = await ctx.sql<StackResourceRow[]>`
        select * from stack_resources where project_id = ${user.projectId} and stack = ${name} order by kind, name`;
      return resources.length > 0 ? { name, resources } : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  recordStackResource: t.field({
    type: StackResource,
    description: 'Records that the stack owns the resource (or updates its applied spec); apply calls it after each create or change.',
    args: { input: t.arg({ type: StackResourceInput, required: true }) },
    authScopes: { policy: 'stack:record' },
    errors: mutationErrors('RecordStackResource', 'stackResource'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const r = validate<StackRecord>(stackRecordSchema, { ...input, resourceId: String(input.resourceId) });
      validate(specSchemaOf[r.kind], r.applied, 'input.applied');
      if (r.applied.name !== r.name) throw ValidationError.field('input.applied.name', `must be the recorded name ${JSON.stringify(r.name)}`);
      return ctx.sql.begin(async (tx) => {
        if (!(await visible(tx, ctx, user, r.kind, r.resourceId))) throw new NotFoundError(r.kind, r.resourceId, 'input.resourceId');
        const [row] = await tx<StackResourceRow[]>`
          insert into stack_resources (project_id, stack, kind, name, resource_id, applied)
          values (${user.projectId}, ${r.stack}, ${r.kind}, ${r.name}, ${r.resourceId}, ${tx.json(r.applied as never)})
          on conflict (project_id, stack, kind, name)
            do update set resource_id = excluded.resource_id, applied = excluded.applied, recorded_at = now()
          returning *`;
        return row!;
      });
    },
  }),
  forgetStackResource: t.field({
    type: StackResource,
    description: 'Drops a resource from the stack (after apply --prune deleted it, or when it is gone); the resource itself is untouched.',
    args: {
      stack: t.arg.string({ required: true }),
      kind: t.arg({ type: StackResourceKind, required: true }),
      name: t.arg.string({ required: true }),
    },
    authScopes: { policy: 'stack:record' },
    errors: mutationErrors('ForgetStackResource', 'stackResource'),
    resolve: async (_r, { stack, kind, name }, ctx) => {
      const user = requireUser(ctx);
      validate<string>(stackNameSchema, stack, 'stack');
      const [row] = await ctx.sql<StackResourceRow[]>`
        delete from stack_resources where project_id = ${user.projectId} and stack = ${stack} and kind = ${kind} and name = ${name}
        returning *`;
      if (!row) throw new NotFoundError(`${kind} of stack ${stack}`, name, 'name');
      return row;
    },
  }),
}));
