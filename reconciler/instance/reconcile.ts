import type { Sql, TxSql } from '../../db/connect.ts';
import { settledVmState } from '../../core/instance-status.ts';
import { lockInstance, type InstanceRow } from '../../store/instances.ts';
import { abandonActions, addActionEvent, finishActions, hasPendingOperation, startAction } from '../../store/actions.ts';
import { releaseClaims } from '../placement/claim.ts';
import { followLiveMigration } from './live-migration.ts';
import { autoConfirmIfDue, followMoveFinish, followRevert } from './move.ts';
import { followOffload, followOperation, startNextOperation } from './operations.ts';
import { agentFailed, converged, deadlinePassed, secondsToDeadline } from './progress.ts';
import { hostLiveness, type HostLiveness } from '../../store/host-liveness.ts';
import { dropShelvedImage } from './served-images.ts';
import { place } from './place.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';

const WAIT_POLL_SECONDS = 30;

/**
 * One step toward the instance's spec. Reads everything fresh under the instance's row lock,
 * takes the next idempotent step and records it; never trusts the event that woke it.
 */
export async function reconcileInstance(sql: Sql, id: string, deps: ReconcileDeps): Promise<ReconcileResult> {
  return sql.begin(async (tx) => {
    const inst = await lockInstance(tx, id);
    if (!inst) return { outcome: 'gone' };
    const host = inst.host_id ? await hostLiveness(tx, inst.host_id, deps.config.serviceDownSeconds) : null;
    if (inst.delete_requested_at) return reconcileDelete(tx, inst, host, deps);
    if (!inst.host_id) {
      if (inst.vm_state === 'error') return { outcome: 'error-unplaced' };
      if (inst.vm_state === 'shelved_offloaded' && inst.task_state !== 'unshelving') return { outcome: 'shelved' };
      return place(tx, inst, deps);
    }
    // Unshelving is a build on a new host, from the shelve snapshot.
    if (inst.vm_state === 'building' || inst.vm_state === 'shelved_offloaded') return reconcileBuild(tx, inst, host!, deps);
    return reconcileRunning(tx, inst, host!, deps);
  });
}

async function removeInstance(tx: TxSql, inst: InstanceRow, how: string, deps: ReconcileDeps): Promise<ReconcileResult> {
  await releaseClaims(tx, inst.id);
  await dropShelvedImage(tx, inst, deps);
  await tx`update instances set current_action_id = null where id = ${inst.id}`;
  await abandonActions(tx, inst.id, 'the instance was deleted');
  await addActionEvent(tx, inst.id, { event: 'delete', result: 'success', details: how });
  await finishActions(tx, inst.id, 'succeeded');
  await tx`delete from instances where id = ${inst.id}`;
  return { outcome: `deleted (${how})` };
}

async function reconcileDelete(
  tx: TxSql,
  inst: InstanceRow,
  host: HostLiveness | null,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  if (!host) return removeInstance(tx, inst, 'never placed', deps);
  if (converged(inst) && inst.power_state === 'nostate') return removeInstance(tx, inst, `destroyed on ${host.name}`, deps);
  // Nova's "local delete": a down host cannot confirm, and its agent removes the domain as an
  // orphan when it comes back.
  if (!host.up) return removeInstance(tx, inst, `host ${host.name} down; local delete`, deps);
  if (deadlinePassed(inst)) {
    const f = fault('DeleteTimeout', `host ${host.name} did not confirm deletion within ${deps.config.deleteTimeoutSeconds} s`);
    await tx`update instances set vm_state = 'error', task_state = null, fault = ${tx.json(f as never)},
                    task_deadline_at = null where id = ${inst.id}`;
    await finishActions(tx, inst.id, 'failed', f.message);
    return { outcome: 'delete-timeout' };
  }
  if (agentFailed(inst)) {
    await addActionEvent(tx, inst.id, { event: 'delete', result: 'error', hostName: host.name, details: inst.agent_fault!.message });
  }
  return { requeueAfter: secondsToDeadline(inst), outcome: 'waiting-delete' };
}

async function reconcileBuild(
  tx: TxSql,
  inst: InstanceRow,
  host: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const failure = agentFailed(inst)
    ? inst.agent_fault!.message
    : !host.up
      ? `host ${host.name} went down during the build`
      : deadlinePassed(inst)
        ? `spawn did not finish on ${host.name} within ${deps.config.spawnTimeoutSeconds} s`
        : null;
  if (failure) return rescheduleAfterFailure(tx, inst, host, failure, deps);
  if (converged(inst) && inst.power_state !== 'nostate') {
    const vm = settledVmState(inst.desired_power_state);
    await tx`update instances set vm_state = ${vm}, task_state = null, fault = null, task_deadline_at = null,
                    launched_at = coalesce(launched_at, now()) where id = ${inst.id}`;
    await dropShelvedImage(tx, inst, deps);
    await addActionEvent(tx, inst.id, { event: 'spawn', result: 'success', hostName: host.name });
    await finishActions(tx, inst.id, 'succeeded');
    return { outcome: `built (${vm})` };
  }
  return { requeueAfter: secondsToDeadline(inst), outcome: 'waiting-spawn' };
}

/** A failed build releases the host and goes back to placement, up to the attempt limit. */
async function rescheduleAfterFailure(
  tx: TxSql,
  inst: InstanceRow,
  host: HostLiveness,
  why: string,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  await releaseClaims(tx, inst.id, inst.host_id!);
  await addActionEvent(tx, inst.id, { event: 'spawn', result: 'error', hostName: host.name, details: why });
  if (inst.schedule_attempts >= deps.config.maxScheduleAttempts) {
    const f = fault('BuildFailed', `build failed on ${inst.schedule_attempts} host(s); last: ${why}`);
    await tx`update instances set host_id = null, task_state = null, task_deadline_at = null,
                    vm_state = unplaced_vm_state(vm_state),
                    fault = ${tx.json(f as never)}, agent_fault = null,
                    failed_host_ids = array_append(failed_host_ids, host_id) where id = ${inst.id}`;
    await finishActions(tx, inst.id, 'failed', f.message);
    return { outcome: 'build-failed' };
  }
  // An unshelve stays one (placement takes a shelved instance only while it is unshelving).
  await tx`update instances set host_id = null, task_deadline_at = null,
                  task_state = case when vm_state = 'shelved_offloaded' then 'unshelving' else 'scheduling' end,
                  agent_fault = null, observed_generation = 0, power_state = 'nostate',
                  failed_host_ids = array_append(failed_host_ids, host_id) where id = ${inst.id}`;
  return { requeueAfter: 0, outcome: 'rescheduling' };
}

async function reconcileRunning(tx: TxSql, inst: InstanceRow, host: HostLiveness, deps: ReconcileDeps): Promise<ReconcileResult> {
  // Moves read their own faults: a failed build on the destination sends the instance home.
  if (inst.task_state === 'resize_finish') return followMoveFinish(tx, inst, host, deps);
  if (inst.task_state === 'resize_reverting') return followRevert(tx, inst, host, deps);
  if (inst.task_state === 'migrating') return followLiveMigration(tx, inst, host, deps);
  if (agentFailed(inst)) {
    if (inst.task_state === null) return { outcome: 'failed-change-recorded' };
    const f = fault(inst.agent_fault!.code, inst.agent_fault!.message, inst.agent_fault!.details);
    // A failed rebuild leaves no trustworthy disk behind: ERROR, as Nova does.
    await tx`update instances set task_state = null, task_deadline_at = null, fault = ${tx.json(f as never)},
                    vm_state = case when task_state = 'rebuilding' then 'error' else vm_state end
              where id = ${inst.id}`;
    await addActionEvent(tx, inst.id, { event: 'apply', result: 'error', hostName: host.name, details: f.message });
    await finishActions(tx, inst.id, 'failed', f.message);
    return { outcome: 'change-failed' };
  }
  if (inst.task_state === 'shelving_offloading') return followOffload(tx, inst, host);
  if (inst.current_action_id) return followOperation(tx, inst, host, deps);
  const confirmed = await autoConfirmIfDue(tx, inst, deps);
  if (confirmed) return confirmed;
  if (converged(inst)) {
    const synced = await syncPowerState(tx, inst, host);
    // With no domain to read (power state unknown) an operation still goes to the host, as Nova
    // sends it to the compute: it fails there with the reason, or (a rebuild) makes a new one.
    if (synced.outcome === 'in-sync' || synced.outcome === 'unknown-power-state') {
      return (await startNextOperation(tx, inst, host, deps)) ?? synced;
    }
    return { ...synced, requeueAfter: (await hasPendingOperation(tx, inst.id)) ? 0 : undefined };
  }
  if (deadlinePassed(inst)) {
    const f = fault('TaskTimeout', `host ${host.name} did not apply generation ${inst.generation} in time`);
    await tx`update instances set task_state = null, task_deadline_at = null, fault = ${tx.json(f as never)}
              where id = ${inst.id}`;
    await finishActions(tx, inst.id, 'failed', f.message);
    return { outcome: 'change-timeout' };
  }
  return { requeueAfter: secondsToDeadline(inst), outcome: 'waiting-agent' };
}

/**
 * The agent applied the spec; what it now observes decides the vm_state. A guest that stopped or
 * crashed on its own becomes STOPPED and its desired power state follows (Nova's power-state
 * sync): Orrery never restarts it behind the user's back.
 */
async function syncPowerState(tx: TxSql, inst: InstanceRow, host: HostLiveness): Promise<ReconcileResult> {
  const observed = inst.power_state;
  const vm =
    observed === 'running' ? 'active' :
    observed === 'paused' ? 'paused' :
    observed === 'suspended' ? 'suspended' :
    observed === 'shutdown' || observed === 'crashed' ? 'stopped' : null;
  if (vm === null) return { requeueAfter: WAIT_POLL_SECONDS, outcome: 'unknown-power-state' };
  // VERIFY_RESIZE and RESCUE last until the user settles them, whatever the guest's power state;
  // ERROR until an operation that may start from it (hard reboot, rebuild, evacuate, rescue) ends
  // it, as Nova's power sync leaves ERROR alone: a guest still running is no proof it is sound.
  if (inst.vm_state === 'resized' || inst.vm_state === 'rescued' || inst.vm_state === 'error') return { outcome: 'in-sync' };
  const expected = settledVmState(inst.desired_power_state);
  const drifted = vm !== expected;
  if (inst.vm_state === vm && inst.task_state === null && !drifted) return { outcome: 'in-sync' };
  const desired = drifted ? ({ active: 'running', stopped: 'stopped', paused: 'paused', suspended: 'suspended' } as const)[vm] : inst.desired_power_state;
  await tx`update instances set vm_state = ${vm}, task_state = null, task_deadline_at = null,
                  desired_power_state = ${desired}, fault = case when ${drifted} then fault else null end
            where id = ${inst.id}`;
  if (drifted) {
    // Nobody asked for this change, so the reconciler opens the action record itself.
    await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action: 'power-sync', requestId: `reconciler-${inst.revision}`, userId: null });
    await addActionEvent(tx, inst.id, {
      event: 'power-sync',
      result: 'success',
      hostName: host.name,
      details: `found ${observed} on ${host.name}; recorded as ${vm}`,
    });
  }
  await finishActions(tx, inst.id, 'succeeded');
  return { outcome: drifted ? `power-sync (${vm})` : `converged (${vm})` };
}
