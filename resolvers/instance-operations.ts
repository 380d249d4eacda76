import { ConflictError } from '../core/errors.ts';
import { describeState, operationRefusal } from '../core/operation-guards.ts';
import { builder } from '../schema/builder.ts';
import { mutationErrors } from '../schema/errors.ts';
import { InstanceAction } from '../schema/types/instance.ts';
import { startAction } from '../store/actions.ts';
import { enqueueReconcile } from '../store/jobs.ts';
import type { ActionRow } from '../store/rows.ts';
import { checkNotLocked, lockOwnInstance } from './instance-access.ts';
import { requireUser } from './scope.ts';

builder.mutationFields((t) => ({
  rebootInstance: t.field({
    type: InstanceAction,
    description:
      'Soft (ACPI, falling back to hard after a timeout) or hard (reset) reboot. Queued as an operation; follow it in the returned action or the instance action log.',
    args: { id: t.arg.id({ required: true }), hard: t.arg.boolean({ description: 'Default false' }) },
    authScopes: { policy: 'instance:reboot' },
    errors: mutationErrors('RebootInstance', 'action'),
    resolve: async (_r, { id, hard }, ctx) => {
      const user = requireUser(ctx);
      return ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        checkNotLocked(ctx, inst, 'reboot');
        const refusal = operationRefusal(hard ? 'reboot-hard' : 'reboot-soft', inst);
        if (refusal) throw new ConflictError(refusal, describeState(inst));
        const queued = await tx`select 1 from instance_actions where instance_id = ${inst.id} and state = 'pending'`;
        if (queued.length > 0) throw new ConflictError(`instance ${inst.name} already has an operation waiting`, describeState(inst));
        const actionId = await startAction(tx, {
          instanceId: inst.id, projectId: inst.project_id, action: 'reboot', requestId: ctx.requestId,
          userId: user.userId, state: 'pending', params: { hard: hard ?? false },
        });
        await enqueueReconcile(tx, 'instance', inst.id);
        const [row] = await tx<ActionRow[]>`select * from instance_actions where id = ${actionId}`;
        return row!;
      });
    },
  }),
}));
