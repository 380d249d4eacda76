import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { flavorRefusal } from '../core/image-disk.ts';
import { transitionTask, type TaskState } from '../core/instance-status.ts';
import { describeState, operationRefusal } from '../core/operation-guards.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { instancePatchSchema, tagSet, type InstancePatch } from '../schema/documents/instance.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { Instance, PowerStateEnum } from '../schema/types/instance.ts';
import { finishAction, startAction } from '../store/actions.ts';
import type { InstanceRow } from '../store/instances.ts';
import { enqueueReconcile } from '../store/jobs.ts';
import { enforceUpdateQuota } from '../store/quotas.ts';
import { findFlavor, findImage } from '../store/references.ts';
import { compact } from './compact.ts';
import { checkNotLocked, lockOwnInstance } from './instance-access.ts';
import { actionName, checkNoOperationWaiting, checkPowerChange } from './instance-guards.ts';
import { callerIsAdmin, requireUser } from './scope.ts';

const UpdateInstanceInput = builder.inputType('UpdateInstanceInput', {
  fields: (t) => ({
    name: t.string(),
    powerState: t.field({ type: PowerStateEnum }),
    metadata: t.field({ type: [KeyValueInput], description: 'Replaces the whole metadata map' }),
    tags: t.stringList({ description: 'Replaces the whole tag set (each 1-60 characters, no / or ,; at most 50)' }),
    image: t.string({ description: 'Name or ID; a different image rebuilds the instance from it' }),
    flavor: t.string({ description: 'Name or ID; a different flavor resizes the instance (to another host; confirm or revert after)' }),
    locked: t.boolean({ description: "Lock against changes by non-admins (Nova's server lock)" }),
    lockedReason: t.string(),
  }),
});

interface Change {
  /** The new spec, as columns. */
  name: string;
  metadata: Record<string, string>;
  tags: string[];
  powerState: InstanceRow['desired_power_state'];
  imageId: string;
  /** Task shown while the host carries it out, and the action-log name. */
  task: TaskState | null;
  action: string;
  /** Rebuilds and resizes are queued as operations, carried out once the spec is applied. */
  queued: Record<string, unknown> | null;
}

/** The image to rebuild from, checked as createInstance checks it. */
async function rebuildImage(tx: TxSql, ctx: Context, inst: InstanceRow, ref: string) {
  const image = await findImage(tx, ref, requireUser(ctx).projectId);
  if (!image) throw new NotFoundError('image', ref, 'input.image');
  if (image.status !== 'active') throw ValidationError.field('input.image', `image ${image.name} is ${image.status}, not active`);
  const flavor = (await findFlavor(tx, inst.flavor_id, null))!;
  const tooSmall = flavorRefusal(image, flavor);
  if (tooSmall) throw ValidationError.field('input.image', tooSmall);
  const refusal = operationRefusal('rebuild', inst);
  if (refusal) throw new ConflictError(refusal, describeState(inst));
  return image;
}

/** The flavor to resize to: visible, different, and not shrinking the root disk (Nova refuses that). */
async function resizeFlavor(tx: TxSql, ctx: Context, inst: InstanceRow, ref: string) {
  const flavor = await findFlavor(tx, ref, requireUser(ctx).projectId);
  if (!flavor) throw new NotFoundError('flavor', ref, 'input.flavor');
  if (flavor.id === inst.flavor_id) return null;
  const current = (await findFlavor(tx, inst.flavor_id, null))!;
  if (flavor.disk_gb < current.disk_gb) {
    throw ValidationError.field('input.flavor', `flavor ${flavor.name} has a smaller disk (${flavor.disk_gb} GiB) than ${current.name} (${current.disk_gb} GiB)`);
  }
  const refusal = operationRefusal('resize', inst);
  if (refusal) throw new ConflictError(refusal, describeState(inst));
  return flavor;
}

async function planChange(tx: TxSql, ctx: Context, inst: InstanceRow, patch: InstancePatch): Promise<Change | null> {
  const powerState = patch.powerState ?? inst.desired_power_state;
  checkPowerChange(inst, powerState);
  const imageId = patch.image === undefined ? inst.image_id : (await rebuildImage(tx, ctx, inst, patch.image)).id;
  const rebuild = imageId !== inst.image_id;
  const resize = patch.flavor === undefined ? null : await resizeFlavor(tx, ctx, inst, patch.flavor);
  const kinds = [rebuild, resize !== null, powerState !== inst.desired_power_state].filter(Boolean).length;
  if (kinds > 1) throw ValidationError.field('input', 'change one of image, flavor and power state per update');
  const power = transitionTask(inst.desired_power_state, powerState);
  const change: Change = {
    name: patch.name ?? inst.name,
    metadata: patch.metadata ?? inst.metadata,
    tags: patch.tags ? tagSet(patch.tags) : inst.tags,
    powerState,
    imageId,
    task: rebuild || resize ? null : power,
    action: rebuild ? 'rebuild' : resize ? 'resize' : power ? actionName(inst.desired_power_state, powerState) : 'update',
    queued: rebuild ? { imageId } : resize ? { flavorId: resize.id } : null,
  };
  if (change.queued) await checkNoOperationWaiting(tx, inst);
  const same =
    change.name === inst.name && JSON.stringify(change.metadata) === JSON.stringify(inst.metadata) &&
    JSON.stringify(change.tags) === JSON.stringify(inst.tags) &&
    change.powerState === inst.desired_power_state && change.imageId === inst.image_id && change.queued === null;
  return same ? null : change;
}

/** Lock or unlock: an admin's lock binds the owner, and only an admin lifts it. */
async function applyLock(tx: TxSql, ctx: Context, inst: InstanceRow, locked: boolean, reason: string | null): Promise<void> {
  if (locked === inst.locked && (reason === null || reason === inst.locked_reason)) return;
  const admin = callerIsAdmin(ctx);
  if (!locked && inst.locked_by === 'admin' && !admin) {
    throw new ForbiddenError(`instance ${inst.name} was locked by an admin; only an admin can unlock it`);
  }
  await tx`update instances set locked = ${locked}, locked_reason = ${locked ? reason : null},
                  locked_by = ${locked ? (admin ? 'admin' : 'owner') : null} where id = ${inst.id}`;
  const action = await startAction(tx, {
    instanceId: inst.id, projectId: inst.project_id, action: locked ? 'lock' : 'unlock',
    requestId: ctx.requestId, userId: requireUser(ctx).userId,
  });
  await finishAction(tx, action, 'succeeded');
}

/** Metadata items per instance, and the cores and RAM a bigger flavor adds, checked like a create. */
async function checkUpdateQuota(tx: TxSql, inst: InstanceRow, patch: InstancePatch, change: Change): Promise<void> {
  let extraVcpus = 0;
  let extraRamMb = 0;
  const flavorId = change.queued?.flavorId as string | undefined;
  if (flavorId) {
    const [d] = await tx<{ vcpus: number; ram: number }[]>`
      select n.vcpus - o.vcpus as vcpus, n.ram_mb - o.ram_mb as ram
        from flavors n, flavors o where n.id = ${flavorId} and o.id = ${inst.flavor_id}`;
    extraVcpus = d!.vcpus;
    extraRamMb = d!.ram;
  }
  const metadataItems = patch.metadata === undefined ? null : Object.keys(patch.metadata).length;
  await enforceUpdateQuota(tx, inst.project_id, { metadataItems, extraVcpus, extraRamMb });
}

builder.mutationFields((t) => ({
  updateInstance: t.field({
    type: Instance,
    description:
      'Changes the spec: name, metadata, tags, power state (start, stop, pause, suspend and back), image (a rebuild), lock. The reconciler carries it out.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInstanceInput, required: true }) },
    authScopes: { policy: 'instance:update' },
    errors: mutationErrors('UpdateInstance', 'instance'),
    resolve: async (_r, { id, input }, ctx) => {
      const user = requireUser(ctx);
      const { locked, lockedReason, ...specInput } = input;
      const patch = validate<InstancePatch>(instancePatchSchema, compact(specInput, ['metadata']));
      if (lockedReason && locked === false) throw ValidationError.field('input.lockedReason', 'a reason goes with locking, not unlocking');
      return ctx.sql.begin(async (tx) => {
        let inst = await lockOwnInstance(tx, ctx, String(id));
        const unlocking = locked === false;
        if (!unlocking) checkNotLocked(ctx, inst, 'change');
        if (locked !== undefined && locked !== null) await applyLock(tx, ctx, inst, locked, lockedReason ?? null);
        if (unlocking) inst = { ...inst, locked: false };
        const change = await planChange(tx, ctx, inst, patch);
        if (!change) return (await tx<InstanceRow[]>`select * from instances where id = ${inst.id}`)[0]!;
        await checkUpdateQuota(tx, inst, patch, change);
        const [row] = await tx<InstanceRow[]>`
          update instances set
            name = ${change.name},
            metadata = ${tx.json(change.metadata)},
            tags = ${change.tags}::text[],
            desired_power_state = ${change.powerState},
            image_id = ${change.imageId},
            generation = generation + 1,
            task_state = coalesce(${change.task}::text, task_state),
            task_deadline_at = case when ${change.task}::text is null then task_deadline_at
                                    else now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds}) end
           where id = ${inst.id}
          returning *`;
        await startAction(tx, {
          instanceId: inst.id, projectId: inst.project_id, action: change.action, requestId: ctx.requestId, userId: user.userId,
          ...(change.queued ? { state: 'pending' as const, params: change.queued } : {}),
        });
        await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
        return row!;
      });
    },
  }),
  deleteInstance: t.field({
    type: Instance,
    description: 'Requests deletion; the row disappears once the host confirms and allocations are released.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:delete' },
    errors: mutationErrors('DeleteInstance', 'instance'),
    resolve: async (_r, { id }, ctx) => {
      const user = requireUser(ctx);
      return ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        checkNotLocked(ctx, inst, 'delete');
        if (inst.delete_requested_at && inst.task_state === 'deleting') return inst;
        const [row] = await tx<InstanceRow[]>`
          update instances set delete_requested_at = now(), generation = generation + 1, task_state = 'deleting',
                 task_deadline_at = now() + make_interval(secs => ${ctx.config.deleteTimeoutSeconds})
           where id = ${inst.id}
          returning *`;
        await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action: 'delete', requestId: ctx.requestId, userId: user.userId });
        await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
        return row!;
      });
    },
  }),
}));
