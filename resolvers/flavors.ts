import { ConflictError, NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import { builder } from '../schema/builder.ts';
import { flavorSpecSchema, type FlavorSpec } from '../schema/documents/flavor.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { compact } from './compact.ts';
import { Flavor } from '../schema/types/flavor.ts';
import type { FlavorRow } from '../store/rows.ts';
import { findFlavor } from '../store/references.ts';
import { requireUser } from './scope.ts';
import { uniqueViolation } from './sql-errors.ts';

const FlavorInput = builder.inputType('FlavorInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    vcpus: t.int({ required: true }),
    ramMb: t.int({ required: true }),
    diskGb: t.int({ required: true }),
    ephemeralGb: t.int(),
    swapMb: t.int(),
    extraSpecs: t.field({ type: [KeyValueInput] }),
    isPublic: t.boolean(),
    description: t.string(),
  }),
});

builder.queryFields((t) => ({
  flavors: t.field({
    type: [Flavor],
    description: 'Public flavors, plus private ones shared with your project (all of them for admins).',
    authScopes: { policy: 'flavor:list' },
    resolve: async (_r, _a, ctx) => {
      const user = requireUser(ctx);
      const admin = ctx.policy.allows(ctx.principal, 'flavor:create');
      return ctx.sql<FlavorRow[]>`
        select * from flavors f
         where ${admin} or f.is_public
            or exists (select 1 from flavor_projects fp where fp.flavor_id = f.id and fp.project_id = ${user.projectId})
         order by vcpus, ram_mb, name`;
    },
  }),
  flavor: t.field({
    type: Flavor,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'flavor:list' },
    resolve: async (_r, { ref }, ctx) => (await findFlavor(ctx.sql, ref, requireUser(ctx).projectId)) ?? null,
  }),
}));

function flavorSpec(input: typeof FlavorInput.$inferInput): FlavorSpec {
  return validate<FlavorSpec>(flavorSpecSchema, compact(input, ['extraSpecs']));
}

builder.mutationFields((t) => ({
  createFlavor: t.field({
    type: Flavor,
    args: { input: t.arg({ type: FlavorInput, required: true }) },
    authScopes: { policy: 'flavor:create' },
    errors: mutationErrors('CreateFlavor', 'flavor'),
    resolve: async (_r, { input }, ctx) => {
      const s = flavorSpec(input);
      try {
        const [row] = await ctx.sql<FlavorRow[]>`
          insert into flavors (name, vcpus, ram_mb, disk_gb, ephemeral_gb, swap_mb, extra_specs, is_public, description)
          values (${s.name}, ${s.vcpus}, ${s.ramMb}, ${s.diskGb}, ${s.ephemeralGb ?? 0}, ${s.swapMb ?? 0},
                  ${ctx.sql.json(s.extraSpecs ?? {})}, ${s.isPublic ?? true}, ${s.description ?? ''})
          returning *`;
        return row!;
      } catch (e) {
        if (uniqueViolation(e)) throw new ConflictError(`a flavor named ${JSON.stringify(s.name)} already exists`);
        throw e;
      }
    },
  }),
  deleteFlavor: t.field({
    type: Flavor,
    args: { ref: t.arg.string({ required: true }) },
    authScopes: { policy: 'flavor:delete' },
    errors: mutationErrors('DeleteFlavor', 'flavor'),
    resolve: async (_r, { ref }, ctx) => {
      const found = await findFlavor(ctx.sql, ref, null);
      if (!found) throw new NotFoundError('flavor', ref, 'ref');
      const [use] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from instances where flavor_id = ${found.id}`;
      if (use!.n > 0) throw new ConflictError(`flavor ${found.name} is used by ${use!.n} instance(s)`);
      await ctx.sql`delete from flavors where id = ${found.id}`;
      return found;
    },
  }),
}));
