import { settledVmState } from '../../core/instance-status.ts';
import type { TxSql } from '../../db/connect.ts';
import { addEventTo, finishAction, startAction } from '../../store/actions.ts';
import type { InstanceRow } from '../../store/instances.ts';
import type { HostLiveness } from '../../store/host-liveness.ts';
import { agentStepOutcome } from './agent-step.ts';
import { fault, verifyResizeResult, type ReconcileDeps, type ReconcileResult } from './result.ts';

/**
 * A resize that stays on its host (Nova's allow_resize_to_same_host): nothing is copied between
 * hosts. The host's allocation holds old + new flavor until the resize is settled; the agent stops
 * the guest, keeps a backup of its disk, gives it the new vCPUs and RAM, grows its disk and starts
 * it again. Confirming shrinks the allocation to the new flavor and has the agent drop the backup;
 * reverting restores the old flavor, the disk from the backup and the allocation. The migration
 * row's source and destination are the same host. Each agent step is an operation (an action the
 * agent carries out once and reports), so the reconciler knows when it is done.
 */

export interface InPlaceMigration {
  id: string;
  source_host_id: string;
  old_flavor_id: string;
  new_flavor_id: string;
}

export function isInPlace(m: { source_host_id: string; dest_host_id: string }): boolean {
  return m.source_host_id === m.dest_host_id;
}

/** The allocation on the instance's host becomes exactly one flavor's worth. */
async function allocateFlavor(tx: TxSql, inst: InstanceRow, hostId: string, flavorId: string): Promise<void> {
  await tx`
    update allocations a set vcpus = f.vcpus, memory_mb = f.ram_mb, disk_gb = flavor_claim_disk_gb(f)
      from flavors f
     where a.instance_id = ${inst.id} and a.host_id = ${hostId} and f.id = ${flavorId}`;
}

/**
 * The action that carries a revert's agent step: the one revertResize opened in this transaction,
 * or a new one when the reconciler reverts a resize the host failed half-way.
 */
async function stepAction(tx: TxSql, inst: InstanceRow, action: 'revertResize'): Promise<string> {
  const [open] = await tx<{ id: string }[]>`
    select id from instance_actions where instance_id = ${inst.id} and action = ${action} and state = 'running'
     order by started_at desc, id desc limit 1`;
  if (open) return open.id;
  return startAction(tx, {
    instanceId: inst.id, projectId: inst.project_id, action, requestId: `reconciler-${inst.revision}`, userId: null,
  });
}

/** The scheduler kept the resize on its host and grew the allocation there: the agent resizes in place. */
export async function startResizeInPlace(
  tx: TxSql,
  inst: InstanceRow,
  op: { id: string },
  newFlavorId: string,
  host: { name: string },
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const [m] = await tx<{ id: string }[]>`
    insert into migrations (instance_id, kind, source_host_id, dest_host_id, old_flavor_id, new_flavor_id)
    values (${inst.id}, 'resize', ${inst.host_id}, ${inst.host_id}, ${inst.flavor_id}, ${newFlavorId})
    returning id`;
  await tx`update instance_actions set state = 'running' where id = ${op.id}`;
  // The instance carries the new flavor from now on: the agent resizes the domain to it.
  await tx`
    update instances set current_action_id = ${op.id}, migration_id = ${m!.id}, flavor_id = ${newFlavorId},
           task_state = 'resize_finish', agent_fault = null,
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
  await addEventTo(tx, op.id, { event: 'schedule', result: 'success', hostName: host.name, details: 'same host: resize in place' });
  await addEventTo(tx, op.id, { event: 'resize', result: 'running', hostName: host.name });
  return { requeueAfter: 30, outcome: `resizing in place on ${host.name}` };
}

/** The resize in place finished (VERIFY_RESIZE), or failed and is undone from the backup. */
export async function followResizeInPlace(
  tx: TxSql,
  inst: InstanceRow,
  m: InPlaceMigration,
  host: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const outcome = agentStepOutcome(inst, host, 'host', 'the resize', deps.config.spawnTimeoutSeconds);
  if (!outcome) return { requeueAfter: 30, outcome: 'waiting-resize-in-place' };
  const op = inst.current_action_id!;
  if (outcome.failure) {
    const why = `resize in place on ${host.name} failed: ${outcome.failure}`;
    await addEventTo(tx, op, { event: 'resize', result: 'error', hostName: host.name, details: outcome.failure });
    await finishAction(tx, op, 'failed', why);
    await tx`update instances set fault = ${tx.json(fault('MoveFailed', why) as never)} where id = ${inst.id}`;
    await beginRevert(tx, inst, m, 'error', await stepAction(tx, inst, 'revertResize'), deps);
    return { requeueAfter: 0, outcome: 'resize-in-place-failed' };
  }
  await tx`update migrations set status = 'finished', updated_at = now() where id = ${m.id}`;
  await addEventTo(tx, op, { event: 'resize', result: 'success', hostName: host.name });
  await finishAction(tx, op, 'succeeded');
  await tx`update instances set vm_state = 'resized', task_state = null, task_deadline_at = null, current_action_id = null
            where id = ${inst.id}`;
  return verifyResizeResult(deps);
}

/** Back to the old flavor and allocation; the agent restores the disk from its backup. */
async function beginRevert(
  tx: TxSql,
  inst: InstanceRow,
  m: InPlaceMigration,
  status: 'reverting' | 'error',
  actionId: string,
  deps: ReconcileDeps,
): Promise<void> {
  await allocateFlavor(tx, inst, m.source_host_id, m.old_flavor_id);
  await tx`update migrations set status = ${status}, updated_at = now() where id = ${m.id}`;
  await tx`
    update instances set flavor_id = ${m.old_flavor_id}, current_action_id = ${actionId}, task_state = 'resize_reverting',
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
}

export async function startRevertInPlace(tx: TxSql, inst: InstanceRow, m: InPlaceMigration, deps: ReconcileDeps): Promise<void> {
  await beginRevert(tx, inst, m, 'reverting', await stepAction(tx, inst, 'revertResize'), deps);
}

/** The revert is done when the agent restored the old disk and size and started the guest as it was. */
export async function followRevertInPlace(
  tx: TxSql,
  inst: InstanceRow,
  m: InPlaceMigration,
  host: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const outcome = agentStepOutcome(inst, host, 'host', 'the revert', deps.config.spawnTimeoutSeconds);
  if (!outcome) return { requeueAfter: 30, outcome: 'waiting-revert-in-place' };
  const reverted = outcome.failure === null;
  const why = reverted ? null : `revert in place on ${host.name} failed: ${outcome.failure}`;
  await tx`update migrations set status = ${reverted ? 'reverted' : 'error'}, updated_at = now()
            where id = ${m.id} and status = 'reverting'`;
  await addEventTo(tx, inst.current_action_id!, {
    event: 'revert', result: reverted ? 'success' : 'error', hostName: host.name, ...(why ? { details: why } : {}),
  });
  await finishAction(tx, inst.current_action_id!, reverted ? 'succeeded' : 'failed', why ?? undefined);
  await tx`
    update instances set migration_id = null, current_action_id = null, task_state = null, task_deadline_at = null,
           vm_state = ${reverted ? settledVmState(inst.desired_power_state) : 'error'},
           fault = case when ${reverted} then fault else ${tx.json(fault('RevertFailed', why ?? '') as never)} end
     where id = ${inst.id}`;
  return { outcome: reverted ? 'reverted-in-place' : 'revert-in-place-failed' };
}

/**
 * Confirming keeps the new flavor: the allocation shrinks to it at once, and the agent drops the
 * disk backup as an operation of its own. No fence: the domain stays, it is the instance.
 */
export async function confirmInPlace(tx: TxSql, inst: InstanceRow, m: InPlaceMigration, step: string, deps: ReconcileDeps): Promise<void> {
  await allocateFlavor(tx, inst, m.source_host_id, m.new_flavor_id);
  await tx`update migrations set status = 'confirmed', updated_at = now() where id = ${m.id}`;
  await tx`
    update instances set migration_id = null, vm_state = ${settledVmState(inst.desired_power_state)},
           current_action_id = ${step},
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
}
