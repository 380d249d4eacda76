import type { TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { addEventTo, finishAction, finishActions, startAction } from '../../store/actions.ts';
import type { HostLiveness } from '../../store/host-liveness.ts';
import { noDestination } from './no-destination.ts';
import { chooseAndClaim, requestFor } from './place.ts';
import { fault, verifyResizeResult, type ReconcileDeps, type ReconcileResult } from './result.ts';
import { buildState, deadlinePassed, secondsToDeadline } from './progress.ts';
import { dropServedImage } from './served-images.ts';
import { confirmInPlace, followResizeInPlace, followRevertInPlace, isInPlace, startResizeInPlace, startRevertInPlace } from './resize-in-place.ts';

/**
 * Cold migration and resize, Nova's way but without compute-to-compute copies: the source agent
 * stops the guest and uploads its disk as a transfer image; the destination builds on it (with the
 * new flavor); until the user confirms, the source domain is kept stopped and both hosts'
 * allocations are held, so a revert needs nothing but a start.
 */

interface MoveOperation {
  id: string;
  action: string;
  params: { flavorId?: string; imageId?: string; hostId?: string };
}

interface MigrationRow {
  id: string;
  source_host_id: string;
  dest_host_id: string;
  old_flavor_id: string;
  new_flavor_id: string;
  transfer_image_id: string | null;
}

async function migrationOf(tx: TxSql, inst: InstanceRow): Promise<MigrationRow> {
  const [m] = await tx<MigrationRow[]>`select * from migrations where id = ${inst.migration_id}`;
  return m!;
}

/** Chooses and claims the destination, then has the source agent start the transfer. */
export async function startMove(
  tx: TxSql,
  inst: InstanceRow,
  op: MoveOperation,
  source: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const newFlavorId = op.params.flavorId ?? inst.flavor_id;
  // Nova's allow_resize_to_same_host: the source stays a candidate for a resize, never for a migration.
  const mayStay = op.action === 'resize' && deps.config.allowResizeToSameHost;
  const req = await requestFor(tx, inst, {
    flavorId: newFlavorId, ignoredHostIds: mayStay ? [] : [inst.host_id!], requestedHostId: op.params.hostId,
  });
  const choice = await chooseAndClaim(tx, inst, req, deps);
  if (choice.kind === 'retry') return { requeueAfter: 1, outcome: 'retry-move-placement' };
  if (choice.kind === 'none') return noDestination(tx, inst, op.id, choice.summary);
  if (choice.host.id === inst.host_id) return startResizeInPlace(tx, inst, op, newFlavorId, choice.host, deps);
  const [image] = await tx<{ id: string }[]>`
    insert into images (name, owner_project_id, visibility, disk_format, properties)
    values (${`${inst.name.slice(0, 230)}-${op.action}-transfer`}, ${inst.project_id}, 'private', 'qcow2',
            ${tx.json({ image_type: 'migration', instance_uuid: inst.id })})
    returning id`;
  const [m] = await tx<{ id: string }[]>`
    insert into migrations (instance_id, kind, source_host_id, dest_host_id, old_flavor_id, new_flavor_id, transfer_image_id)
    values (${inst.id}, ${op.action === 'resize' ? 'resize' : 'migration'}, ${inst.host_id}, ${choice.host.id},
            ${inst.flavor_id}, ${newFlavorId}, ${image!.id})
    returning id`;
  await tx`update instance_actions set state = 'running', params = params || ${tx.json({ imageId: image!.id })}
            where id = ${op.id}`;
  await tx`
    update instances set current_action_id = ${op.id}, migration_id = ${m!.id}, task_state = 'resize_prep',
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
  await addEventTo(tx, op.id, { event: 'schedule', result: 'success', hostName: choice.host.name });
  await addEventTo(tx, op.id, { event: 'transfer', result: 'running', hostName: source.name });
  return { requeueAfter: 30, outcome: `moving to ${choice.host.name}` };
}

/** The source uploaded the disk: the instance now belongs to its destination, which builds it. */
export async function switchToDestination(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<ReconcileResult> {
  const m = await migrationOf(tx, inst);
  await tx`
    update instances set host_id = ${m.dest_host_id}, flavor_id = ${m.new_flavor_id}, generation = generation + 1,
           observed_generation = 0, power_state = 'nostate', agent_fault = null, task_state = 'resize_finish',
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
  return { requeueAfter: 30, outcome: 'move-transferred' };
}

/**
 * The source could not hand its disk over: the destination's claim and the transfer image go, and
 * a new generation has the source agent bring the guest (stopped for the copy) back to its
 * desired power state.
 */
export async function abandonMove(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<void> {
  const m = await migrationOf(tx, inst);
  await tx`delete from allocations where instance_id = ${inst.id} and host_id = ${m.dest_host_id}`;
  await tx`update migrations set status = 'error', updated_at = now() where id = ${m.id}`;
  await dropTransferImage(tx, m, deps);
  await tx`update instances set migration_id = null, generation = generation + 1 where id = ${inst.id}`;
}

/** Goes back to the source (its domain and allocation were kept): a revert, or a failed move. */
async function backToSource(tx: TxSql, inst: InstanceRow, m: MigrationRow, status: 'reverting' | 'error', deps: ReconcileDeps) {
  await tx`delete from allocations where instance_id = ${inst.id} and host_id = ${m.dest_host_id}`;
  await tx`insert into host_fences (instance_id, host_id, reason) values (${inst.id}, ${m.dest_host_id}, 'reverted')
           on conflict (instance_id, host_id) do update set reason = excluded.reason`;
  await tx`update migrations set status = ${status}, updated_at = now() where id = ${m.id}`;
  await tx`
    update instances set host_id = ${m.source_host_id}, flavor_id = ${m.old_flavor_id}, generation = generation + 1,
           observed_generation = 0, power_state = 'nostate', agent_fault = null, task_state = 'resize_reverting',
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
}

export async function startRevert(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<void> {
  const m = await migrationOf(tx, inst);
  if (isInPlace(m)) return startRevertInPlace(tx, inst, m, deps);
  await backToSource(tx, inst, m, 'reverting', deps);
}

/** The destination finished building: VERIFY_RESIZE. A failure there sends the instance home. */
export async function followMoveFinish(tx: TxSql, inst: InstanceRow, dest: HostLiveness, deps: ReconcileDeps): Promise<ReconcileResult> {
  const m = await migrationOf(tx, inst);
  if (isInPlace(m)) return followResizeInPlace(tx, inst, m, dest, deps);
  const state = buildState(inst);
  if (state === 'failed' || !dest.up || (state === 'waiting' && deadlinePassed(inst))) {
    const why = state === 'failed' ? `build on ${dest.name} failed` : `${dest.name} did not finish the build in time`;
    await backToSource(tx, inst, m, 'error', deps);
    await addEventTo(tx, inst.current_action_id!, { event: 'finish', result: 'error', hostName: dest.name, details: why });
    await finishAction(tx, inst.current_action_id!, 'failed', why);
    await tx`update instances set current_action_id = null, fault = ${tx.json(fault('MoveFailed', why) as never)} where id = ${inst.id}`;
    return { requeueAfter: 0, outcome: 'move-failed' };
  }
  if (state === 'waiting') return { requeueAfter: 30, outcome: 'waiting-move-finish' };
  await tx`update migrations set status = 'finished', updated_at = now() where id = ${m.id}`;
  await addEventTo(tx, inst.current_action_id!, { event: 'finish', result: 'success', hostName: dest.name });
  await finishAction(tx, inst.current_action_id!, 'succeeded');
  await tx`update instances set vm_state = 'resized', task_state = null, task_deadline_at = null, current_action_id = null
            where id = ${inst.id}`;
  await dropTransferImage(tx, m, deps);
  return verifyResizeResult(deps);
}

/**
 * Nova's resize_confirm_window: a move left in VERIFY_RESIZE that long is confirmed on the user's
 * behalf, recorded as its own action. Null when the window is off or this is not such a move.
 */
export async function autoConfirmIfDue(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<ReconcileResult | null> {
  const window = deps.config.resizeConfirmWindowSeconds;
  if (window <= 0 || inst.vm_state !== 'resized' || inst.task_state !== null || !inst.migration_id) return null;
  const [m] = await tx<{ wait: number }[]>`
    select extract(epoch from updated_at + make_interval(secs => ${window}) - now())::float8 as wait
      from migrations where id = ${inst.migration_id} and status = 'finished'`;
  if (!m) return null;
  if (m.wait > 0) return { requeueAfter: Math.ceil(m.wait), outcome: 'waiting-auto-confirm' };
  const actionId = await startAction(tx, {
    instanceId: inst.id, projectId: inst.project_id, action: 'confirmResize', requestId: `auto-confirm-${inst.migration_id}`, userId: null,
  });
  await addEventTo(tx, actionId, { event: 'confirm', result: 'success', details: `confirmed automatically after ${window} s in VERIFY_RESIZE` });
  await confirmMove(tx, inst, actionId, deps);
  return { requeueAfter: 0, outcome: 'auto-confirmed' };
}

/**
 * Confirming releases the source: its allocation now, its domain when its agent sees the fence,
 * and `actionId` (the confirm) succeeds. In place, the confirm is the agent's step (dropping the
 * disk backup) and ends when the agent reports it.
 */
export async function confirmMove(tx: TxSql, inst: InstanceRow, actionId: string, deps: ReconcileDeps): Promise<void> {
  const m = await migrationOf(tx, inst);
  if (isInPlace(m)) return confirmInPlace(tx, inst, m, actionId, deps);
  await tx`delete from allocations where instance_id = ${inst.id} and host_id = ${m.source_host_id}`;
  await tx`insert into host_fences (instance_id, host_id, reason) values (${inst.id}, ${m.source_host_id}, 'moved')
           on conflict (instance_id, host_id) do update set reason = excluded.reason`;
  await tx`update migrations set status = 'confirmed', updated_at = now() where id = ${m.id}`;
  await tx`
    update instances set migration_id = null,
           vm_state = case desired_power_state when 'stopped' then 'stopped' else 'active' end
     where id = ${inst.id}`;
  await finishAction(tx, actionId, 'succeeded');
}

/** The revert is done when the source runs the instance again as it was. */
export async function followRevert(tx: TxSql, inst: InstanceRow, source: HostLiveness, deps: ReconcileDeps): Promise<ReconcileResult> {
  const m = await migrationOf(tx, inst);
  if (isInPlace(m)) return followRevertInPlace(tx, inst, m, source, deps);
  const state = buildState(inst);
  // Like every step a host carries out, a revert has a deadline: a source that never answers (its
  // agent stuck, or the guest gone with its hypervisor) must not leave the instance reverting forever.
  const late = state === 'waiting' && deadlinePassed(inst);
  if (state === 'waiting' && source.up && !late) return { requeueAfter: secondsToDeadline(inst), outcome: 'waiting-revert' };
  const reverted = state === 'ok';
  await tx`update migrations set status = ${reverted ? 'reverted' : 'error'}, updated_at = now()
            where id = ${m.id} and status = 'reverting'`;
  const why = reverted ? null
    : late ? `the source host ${source.name} did not start the instance again within ${deps.config.spawnTimeoutSeconds} s`
    : `the source host ${source.name} could not start the instance again`;
  await tx`
    update instances set migration_id = null, task_state = null, task_deadline_at = null,
           vm_state = case when ${reverted} then (case desired_power_state when 'stopped' then 'stopped' else 'active' end) else 'error' end,
           fault = case when ${reverted} then fault else ${tx.json(fault('RevertFailed', why ?? '') as never)} end
     where id = ${inst.id}`;
  await finishActions(tx, inst.id, reverted ? 'succeeded' : 'failed', why ?? undefined);
  return { outcome: reverted ? 'reverted' : 'revert-failed' };
}

async function dropTransferImage(tx: TxSql, m: MigrationRow, deps: ReconcileDeps): Promise<void> {
  if (!m.transfer_image_id) return;
  await tx`update migrations set transfer_image_id = null where id = ${m.id}`;
  await dropServedImage(tx, m.transfer_image_id, deps);
}
