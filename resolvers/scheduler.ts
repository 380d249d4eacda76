import { validate } from '../core/validate.ts';
import { resolveSchedulerConfig } from '../reconciler/placement/config.ts';
import { builder } from '../schema/builder.ts';
import { schedulerConfigSchema, type SchedulerConfigSpec } from '../schema/documents/scheduler-config.ts';
import { mutationErrors } from '../schema/errors.ts';
import { SchedulerConfigInput, SchedulerConfigType, type SchedulerConfigView } from '../schema/types/scheduler.ts';
import { applySchedulerConfig, currentSchedulerConfig, schedulerConfigHistory, type SchedulerConfigRecord } from '../store/scheduler-config.ts';
import { compact } from './compact.ts';
import { requireUser } from './scope.ts';

const view = (r: SchedulerConfigRecord): SchedulerConfigView => ({
  config: resolveSchedulerConfig(r.version, r.spec),
  appliedBy: r.applied_by_name,
  appliedAt: r.applied_at,
});

builder.queryFields((t) => ({
  schedulerConfig: t.field({
    type: SchedulerConfigType,
    description: 'The scheduler configuration in force.',
    authScopes: { policy: 'scheduler:get_config' },
    resolve: async (_r, _a, ctx) => {
      const [latest] = await schedulerConfigHistory(ctx.sql, 1);
      return latest ? view(latest) : { config: await currentSchedulerConfig(ctx.sql), appliedBy: null, appliedAt: null };
    },
  }),
  schedulerConfigHistory: t.field({
    type: [SchedulerConfigType],
    description: 'Applied versions, newest first: who applied what, and when.',
    args: { limit: t.arg.int({ defaultValue: 20 }) },
    authScopes: { policy: 'scheduler:get_config' },
    resolve: async (_r, { limit }, ctx) => (await schedulerConfigHistory(ctx.sql, Math.min(Math.max(limit ?? 20, 1), 500))).map(view),
  }),
}));

builder.mutationFields((t) => ({
  applySchedulerConfig: t.field({
    type: SchedulerConfigType,
    description: 'Records a new version of the whole configuration; the next placement uses it, no restart needed.',
    args: { input: t.arg({ type: SchedulerConfigInput, required: true }) },
    authScopes: { policy: 'scheduler:apply_config' },
    errors: mutationErrors('ApplySchedulerConfig', 'schedulerConfig'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const weighers = input.weighers ? compact(input.weighers) : undefined;
      const spec = validate<SchedulerConfigSpec>(schedulerConfigSchema, compact({ ...input, weighers }));
      return ctx.sql.begin(async (tx) => {
        await applySchedulerConfig(tx, spec, user.userId);
        return view((await schedulerConfigHistory(tx, 1))[0]!);
      });
    },
  }),
}));
