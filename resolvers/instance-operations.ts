import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { describeState, operationRefusal, type GuardedOperation } from '../core/operation-guards.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { name as nameSchema } from '../schema/documents/common.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Instance, InstanceAction } from '../schema/types/instance.ts';
import { startAction } from '../store/actions.ts';
import { confirmMove, startRevert } from '../reconciler/instance/move.ts';
import type { InstanceRow } from '../store/instances.ts';
import { enqueueReconcile } from '../store/jobs.ts';
import { hostLiveness } from '../store/host-liveness.ts';
import { findHost, findImage, findZone } from '../store/references.ts';
import type { ActionRow } from '../store/rows.ts';
import { checkNotLocked, lockOwnInstance } from './instance-access.ts';
import { checkNoOperationWaiting } from './instance-guards.ts';
import { requireUser } from './scope.ts';

const imageNameSchema = { $id: 'orrery/snapshot-name', ...nameSchema } as const;

/** Refuses the operation now, as Nova would, or when another one already waits its turn. */
async function guard(tx: TxSql, ctx: Context, inst: InstanceRow, op: GuardedOperation, verb: string): Promise<void> {
  checkNotLocked(ctx, inst, verb);
  const refusal = operationRefusal(op, inst);
  if (refusal) throw new ConflictError(refusal, describeState(inst));
  await checkNoOperationWaiting(tx, inst);
}

/** Queues an operation for the reconciler and returns its action record. */
async function queue(tx: TxSql, ctx: Context, inst: InstanceRow, action: string, params: Record<string, unknown>): Promise<ActionRow> {
  const actionId = await startAction(tx, {
    instanceId: inst.id, projectId: inst.project_id, action, requestId: ctx.requestId,
    userId: requireUser(ctx).userId, state: 'pending', params,
  });
  await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
  const [row] = await tx<ActionRow[]>`select * from instance_actions where id = ${actionId}`;
  return row!;
}

/**
 * The shape every queued operation shares: the caller's instance, locked; Nova's guard; then the
 * operation queued with its parameters (which may need the locked instance, e.g. a new image).
 */
function queuedOperation(
  ctx: Context,
  id: string,
  op: GuardedOperation,
  action: string,
  params: (tx: TxSql, inst: InstanceRow) => Promise<Record<string, unknown>> | Record<string, unknown> = () => ({}),
): Promise<ActionRow> {
  return ctx.sql.begin(async (tx) => {
    const inst = await lockOwnInstance(tx, ctx, id);
    await guard(tx, ctx, inst, op, action);
    return queue(tx, ctx, inst, action, await params(tx, inst));
  });
}

/** An admin's named destination: it must exist and not be where the instance already is. */
async function destinationHost(tx: TxSql, ref: string, inst: InstanceRow): Promise<string> {
  const host = await findHost(tx, ref);
  if (!host) throw new NotFoundError('host', ref, 'host');
  if (host.id === inst.host_id) throw ValidationError.field('host', `${host.name} is the host instance ${inst.name} is on already`);
  return host.id;
}

const hostArgDescription = 'Destination host, name or ID (default: the scheduler picks); the scheduler filters still check it';

/** The catalogue entry a snapshot fills: queued until the agent uploads the disk into it. */
async function snapshotImage(tx: TxSql, inst: InstanceRow, name: string, type: 'snapshot' | 'shelved'): Promise<string> {
  const [source] = await tx<{ disk_format: string; min_disk_gb: number; min_ram_mb: number }[]>`
    select disk_format, min_disk_gb, min_ram_mb from images where id = ${inst.image_id}`;
  const [row] = await tx<{ id: string }[]>`
    insert into images (name, owner_project_id, visibility, disk_format, min_disk_gb, min_ram_mb, properties)
    values (${name}, ${inst.project_id}, 'private', 'qcow2', ${source!.min_disk_gb}, ${source!.min_ram_mb},
            ${tx.json({ image_type: type, instance_uuid: inst.id, base_image_ref: inst.image_id })})
    returning id`;
  return row!.id;
}

/** Confirm or revert: settles a move in VERIFY_RESIZE, as its own recorded action. */
async function settleMove(ctx: Context, id: string, which: 'confirm' | 'revert'): Promise<InstanceRow> {
  return ctx.sql.begin(async (tx) => {
    const inst = await lockOwnInstance(tx, ctx, id);
    await guard(tx, ctx, inst, which === 'confirm' ? 'confirm-resize' : 'revert-resize', `${which} the resize of`);
    const actionId = await startAction(tx, {
      instanceId: inst.id, projectId: inst.project_id, action: `${which}Resize`, requestId: ctx.requestId, userId: requireUser(ctx).userId,
    });
    if (which === 'confirm') {
      await confirmMove(tx, inst, actionId, { config: ctx.config, log: ctx.log });
    } else {
      await startRevert(tx, inst, { config: ctx.config, log: ctx.log });
    }
    await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
    return (await tx<InstanceRow[]>`select * from instances where id = ${inst.id}`)[0]!;
  });
}

builder.mutationFields((t) => ({
  migrateInstance: t.field({
    type: InstanceAction,
    description: 'Cold-migrates the instance to another host; ends in VERIFY_RESIZE: confirm or revert.',
    args: { id: t.arg.id({ required: true }), host: t.arg.string({ description: hostArgDescription }) },
    authScopes: { policy: 'instance:migrate' },
    errors: mutationErrors('MigrateInstance', 'action'),
    resolve: (_r, { id, host }, ctx) =>
      queuedOperation(ctx, String(id), 'migrate', 'migrate', async (tx, inst) => (host == null ? {} : { hostId: await destinationHost(tx, host, inst) })),
  }),
  liveMigrateInstance: t.field({
    type: InstanceAction,
    description:
      "Moves the running (or paused) instance to another host without stopping it: memory and disk are copied while it runs (block migration; instance disks are local to their host). It stays where it was if anything fails.",
    args: { id: t.arg.id({ required: true }), host: t.arg.string({ description: hostArgDescription }) },
    authScopes: { policy: 'instance:live_migrate' },
    errors: mutationErrors('LiveMigrateInstance', 'action'),
    resolve: (_r, { id, host }, ctx) =>
      queuedOperation(ctx, String(id), 'live-migrate', 'live-migrate', async (tx, inst) =>
        host == null ? {} : { hostId: await destinationHost(tx, host, inst) }),
  }),
  rescueInstance: t.field({
    type: InstanceAction,
    description: "Boots from a rescue image (default: the instance's own image) with the instance's disk attached second, for repairs. Unrescue to boot normally again.",
    args: { id: t.arg.id({ required: true }), image: t.arg.string({ description: 'Rescue image, name or ID' }) },
    authScopes: { policy: 'instance:rescue' },
    errors: mutationErrors('RescueInstance', 'action'),
    resolve: (_r, { id, image }, ctx) =>
      queuedOperation(ctx, String(id), 'rescue', 'rescue', async (tx, inst) => {
        const rescue = image ? await findImage(tx, image, inst.project_id) : { id: inst.image_id, status: 'active', name: '' };
        if (!rescue) throw new NotFoundError('image', image!, 'image');
        if (rescue.status !== 'active') throw ValidationError.field('image', `image ${rescue.name} is ${rescue.status}, not active`);
        return { imageId: rescue.id };
      }),
  }),
  unrescueInstance: t.field({
    type: InstanceAction,
    description: 'Leaves rescue mode: boots from the instance\'s own disk again.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:rescue' },
    errors: mutationErrors('UnrescueInstance', 'action'),
    resolve: (_r, { id }, ctx) => queuedOperation(ctx, String(id), 'unrescue', 'unrescue'),
  }),
  confirmResize: t.field({
    type: Instance,
    description: 'Keeps the moved or resized instance where it is now and frees its old host.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:resize' },
    errors: mutationErrors('ConfirmResize', 'instance'),
    resolve: (_r, { id }, ctx) => settleMove(ctx, String(id), 'confirm'),
  }),
  revertResize: t.field({
    type: Instance,
    description: 'Goes back to the old host and flavor; the new host lets go of the instance.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:resize' },
    errors: mutationErrors('RevertResize', 'instance'),
    resolve: (_r, { id }, ctx) => settleMove(ctx, String(id), 'revert'),
  }),
  evacuateInstance: t.field({
    type: Instance,
    description:
      'Rebuilds the instance from its image on another host because its own host is down. The old host is fenced: when its agent returns it destroys the stale domain.',
    args: { id: t.arg.id({ required: true }), host: t.arg.string({ description: hostArgDescription }) },
    authScopes: { policy: 'instance:evacuate' },
    errors: mutationErrors('EvacuateInstance', 'instance'),
    resolve: (_r, { id, host: target }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        if (!inst.host_id) throw new ConflictError(`instance ${inst.name} is not on any host`, describeState(inst));
        const requestedHostId = target == null ? null : await destinationHost(tx, target, inst);
        const host = await hostLiveness(tx, inst.host_id, ctx.config.serviceDownSeconds, true);
        if (host.up) throw new ConflictError(`host ${host.name} is up; evacuate only moves instances off a host that is down (migrate instead)`, describeState(inst));
        // A task the dead host never finished does not block its way out.
        const refusal = operationRefusal('evacuate', { ...inst, task_state: null });
        if (refusal) throw new ConflictError(refusal, describeState(inst));
        await tx`delete from allocations where instance_id = ${inst.id}`;
        await tx`insert into host_fences (instance_id, host_id, reason) values (${inst.id}, ${inst.host_id}, 'evacuated') on conflict do nothing`;
        await tx`update hosts set epoch = epoch + 1 where id = ${inst.host_id}`;
        await tx`update instance_actions set state = 'failed', message = 'the host went down; the instance was evacuated', finished_at = now()
                  where instance_id = ${inst.id} and state in ('pending', 'running')`;
        // A move the dead host was part of ends here; the destination lets go of what it prepared.
        await tx`update migrations set status = 'error', failure = 'the instance was evacuated', updated_at = now()
                  where id = ${inst.migration_id} and status in ('migrating', 'preparing', 'prepared', 'running')`;
        const [row] = await tx<InstanceRow[]>`
          update instances set host_id = null, vm_state = 'building', task_state = 'rebuilding', current_action_id = null,
                 migration_id = null, requested_host_id = ${requestedHostId},
                 generation = generation + 1, observed_generation = 0, power_state = 'nostate', agent_fault = null,
                 failed_host_ids = array[host_id], schedule_attempts = 0,
                 task_deadline_at = now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds})
           where id = ${inst.id}
          returning *`;
        await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action: 'evacuate', requestId: ctx.requestId, userId: requireUser(ctx).userId });
        await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
        return row!;
      }),
  }),
  rebootInstance: t.field({
    type: InstanceAction,
    description:
      'Soft (ACPI, falling back to hard after a timeout) or hard (reset) reboot. Queued as an operation; follow it in the returned action or the instance action log.',
    args: { id: t.arg.id({ required: true }), hard: t.arg.boolean({ description: 'Default false' }) },
    authScopes: { policy: 'instance:reboot' },
    errors: mutationErrors('RebootInstance', 'action'),
    resolve: (_r, { id, hard }, ctx) =>
      queuedOperation(ctx, String(id), hard ? 'reboot-hard' : 'reboot-soft', 'reboot', () => ({ hard: hard ?? false })),
  }),
  snapshotInstance: t.field({
    type: InstanceAction,
    description: "Copies the instance's disk into a new private image (`imageId` of the returned action), uploaded by its host.",
    args: { id: t.arg.id({ required: true }), name: t.arg.string({ required: true, description: 'Name of the new image' }) },
    authScopes: { policy: 'instance:snapshot' },
    errors: mutationErrors('SnapshotInstance', 'action'),
    resolve: (_r, { id, name }, ctx) => {
      validate<string>(imageNameSchema, name, 'name');
      return queuedOperation(ctx, String(id), 'snapshot', 'snapshot', async (tx, inst) => ({
        imageId: await snapshotImage(tx, inst, name, 'snapshot'),
      }));
    },
  }),
  shelveInstance: t.field({
    type: InstanceAction,
    description:
      'Shuts the instance down, snapshots it to `<name>-shelved`, and frees its host (SHELVED_OFFLOADED). Unshelve boots it again, anywhere.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:shelve' },
    errors: mutationErrors('ShelveInstance', 'action'),
    resolve: (_r, { id }, ctx) =>
      queuedOperation(ctx, String(id), 'shelve', 'shelve', async (tx, inst) => ({
        imageId: await snapshotImage(tx, inst, `${inst.name.slice(0, 247)}-shelved`, 'shelved'),
      })),
  }),
  unshelveInstance: t.field({
    type: Instance,
    description:
      'Places a shelved-offloaded instance again (optionally in another zone, or on a named host: admins only) and boots it from its shelve snapshot.',
    args: {
      id: t.arg.id({ required: true }),
      zone: t.arg.string({ description: 'Availability zone to unshelve into' }),
      host: t.arg.string({ description: 'Host to unshelve on, name or ID (admins only); the scheduler filters still check it' }),
    },
    authScopes: { policy: 'instance:unshelve' },
    errors: mutationErrors('UnshelveInstance', 'instance'),
    resolve: (_r, { id, zone, host }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        await guard(tx, ctx, inst, 'unshelve', 'unshelve');
        if (zone === '') throw ValidationError.field('zone', 'must not be empty');
        const z = zone ? await findZone(tx, zone) : null;
        if (zone && !z) throw new NotFoundError('availability zone', zone, 'zone');
        if (host != null && !ctx.policy.allows(ctx.principal, 'instance:unshelve_to_host')) {
          throw new ForbiddenError('unshelving to a named host is not allowed by policy instance:unshelve_to_host');
        }
        const requestedHostId = host == null ? null : await destinationHost(tx, host, inst);
        const [row] = await tx<InstanceRow[]>`
          update instances set task_state = 'unshelving', generation = generation + 1, desired_power_state = 'running',
                 requested_host_id = ${requestedHostId},
                 requested_zone = coalesce(${z?.name ?? null}::text, requested_zone), fault = null,
                 task_deadline_at = now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds})
           where id = ${inst.id}
          returning *`;
        await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action: 'unshelve', requestId: ctx.requestId, userId: requireUser(ctx).userId });
        await enqueueReconcile(tx, 'instance', inst.id, { requestId: ctx.requestId });
        return row!;
      }),
  }),
}));
