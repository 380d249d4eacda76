import type { TxSql } from '../../db/connect.ts';
import { settledVmState, type TaskState } from '../../core/instance-status.ts';
import { operationRefusal, type GuardedOperation } from '../../core/operation-guards.ts';
import type { HostLiveness } from '../../store/host-liveness.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { addEventTo, finishAction } from '../../store/actions.ts';
import { startLiveMigration } from './live-migration.ts';
import { abandonMove, startMove, switchToDestination } from './move.ts';
import { agentStepOutcome } from './agent-step.ts';
import { deadlinePassed } from './progress.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';

interface OperationParams {
  hard?: boolean;
  imageId?: string;
  flavorId?: string;
  /** An admin's named destination (migrate, live-migrate). */
  hostId?: string;
}

interface PendingOperation {
  id: string;
  action: string;
  params: OperationParams;
}

/** What each queued operation is checked against and shows while the agent carries it out. */
function shapeOf(op: PendingOperation): { guard: GuardedOperation; task: TaskState } | null {
  switch (op.action) {
    case 'reboot':
      return op.params.hard ? { guard: 'reboot-hard', task: 'rebooting_hard' } : { guard: 'reboot-soft', task: 'rebooting' };
    case 'rebuild':
      return { guard: 'rebuild', task: 'rebuilding' };
    case 'snapshot':
      return { guard: 'snapshot', task: 'image_snapshot' };
    case 'shelve':
      return { guard: 'shelve', task: 'shelving' };
    case 'migrate':
    case 'resize':
      return { guard: op.action, task: 'resize_prep' };
    case 'live-migrate':
      return { guard: 'live-migrate', task: 'migrating' };
    case 'rescue':
      return { guard: 'rescue', task: 'rescuing' };
    case 'unrescue':
      return { guard: 'unrescue', task: 'unrescuing' };
    default:
      return null;
  }
}

async function failOperation(tx: TxSql, op: PendingOperation, why: string): Promise<void> {
  await addEventTo(tx, op.id, { event: op.action, result: 'error', details: why });
  await finishAction(tx, op.id, 'failed', why);
  // A snapshot that will never be written must not sit in the catalogue as if it might be.
  if (op.params.imageId) {
    await tx`update images set status = 'killed', updated_at = now() where id = ${op.params.imageId} and status in ('queued', 'saving')`;
  }
}

/**
 * Starts the oldest queued operation when the instance has settled, or fails it with the reason
 * when the instance can no longer take it. Null when nothing is queued.
 */
export async function startNextOperation(
  tx: TxSql,
  inst: InstanceRow,
  host: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult | null> {
  const [op] = await tx<PendingOperation[]>`
    select id, action, params from instance_actions
     where instance_id = ${inst.id} and state = 'pending' order by started_at, id limit 1`;
  if (!op) return null;
  const shape = shapeOf(op);
  const refusal = shape ? operationRefusal(shape.guard, inst) : `unknown operation ${op.action}`;
  if (!shape || refusal) {
    await failOperation(tx, op, refusal!);
    return { requeueAfter: 0, outcome: `refused ${op.action}` };
  }
  if (op.action === 'migrate' || op.action === 'resize') return startMove(tx, inst, op, host, deps);
  if (op.action === 'live-migrate') return startLiveMigration(tx, inst, op, host, deps);
  // A hard reboot boots whatever state the guest was in; the desired power state follows.
  const boots = op.action === 'reboot' && op.params.hard === true;
  await tx`
    update instances set current_action_id = ${op.id}, task_state = ${shape.task},
           desired_power_state = case when ${boots} then 'running' else desired_power_state end,
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
  await tx`update instance_actions set state = 'running' where id = ${op.id}`;
  await addEventTo(tx, op.id, { event: op.action, result: 'running', hostName: host.name });
  return { requeueAfter: 30, outcome: `started ${op.action}` };
}

/** The operation the agent is carrying out: done (either way), timed out, or still waiting. */
export async function followOperation(
  tx: TxSql,
  inst: InstanceRow,
  host: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const [op] = await tx<PendingOperation[]>`select id, action, params from instance_actions where id = ${inst.current_action_id}`;
  const outcome = agentStepOutcome(inst, host, 'host', 'the operation', deps.config.spawnTimeoutSeconds);
  if (!outcome) return { requeueAfter: 30, outcome: 'waiting-operation' };
  const failure = outcome.failure;
  if (failure) {
    await failOperation(tx, op!, failure);
    // A move whose disk never reached the control plane ends here; the guest stays where it was.
    if ((op!.action === 'migrate' || op!.action === 'resize') && inst.migration_id) await abandonMove(tx, inst, deps);
    const f = fault('OperationFailed', failure);
    await tx`update instances set current_action_id = null, task_state = null, task_deadline_at = null,
                    fault = ${tx.json(f as never)} where id = ${inst.id}`;
    return { requeueAfter: 0, outcome: 'operation-failed' };
  }
  await addEventTo(tx, op!.id, { event: op!.action, result: 'success', hostName: host.name });
  if (op!.action === 'shelve') return beginOffload(tx, inst, op!, deps);
  if (op!.action === 'migrate' || op!.action === 'resize') return switchToDestination(tx, inst, deps);
  await finishAction(tx, op!.id, 'succeeded');
  // Rescue is a state of its own (RESCUE) until unrescued; both leave the guest running. Any other
  // operation that succeeds on an ERROR instance (a hard reboot, a rebuild) ends the ERROR.
  const rescues = op!.action === 'rescue' || op!.action === 'unrescue';
  const vm = op!.action === 'rescue' ? 'rescued' : op!.action === 'unrescue' ? 'active'
    : inst.vm_state === 'error' ? settledVmState(inst.desired_power_state) : null;
  await tx`update instances set current_action_id = null, task_state = null, task_deadline_at = null,
                  vm_state = coalesce(${vm}::text, vm_state),
                  desired_power_state = case when ${rescues} then 'running' else desired_power_state end
            where id = ${inst.id}`;
  return { requeueAfter: 0, outcome: 'operation-done' };
}

/**
 * Shelving, second half: the snapshot is safe, so the host lets go. The agent sees the instance
 * as gone from its host and removes the domain; the reconciler then releases the allocations.
 */
async function beginOffload(tx: TxSql, inst: InstanceRow, op: PendingOperation, deps: ReconcileDeps): Promise<ReconcileResult> {
  await tx`
    update instances set vm_state = 'shelved', task_state = 'shelving_offloading', shelved_image_id = ${op.params.imageId!},
           generation = generation + 1,
           task_deadline_at = now() + make_interval(secs => ${deps.config.deleteTimeoutSeconds})
     where id = ${inst.id}`;
  return { requeueAfter: 30, outcome: 'offloading' };
}

/** Offload finishes when the agent confirms the domain is gone (or at once if the host is down). */
export async function followOffload(tx: TxSql, inst: InstanceRow, host: HostLiveness): Promise<ReconcileResult> {
  const gone = inst.observed_generation >= inst.generation && inst.power_state === 'nostate';
  if (!gone && host.up) {
    if (deadlinePassed(inst)) {
      const why = `host ${host.name} did not remove the shelved domain in time`;
      await finishAction(tx, inst.current_action_id!, 'failed', why);
      await tx`update instances set current_action_id = null, task_state = null, task_deadline_at = null,
                      fault = ${tx.json(fault('OffloadTimeout', why) as never)} where id = ${inst.id}`;
      return { outcome: 'offload-timeout' };
    }
    return { requeueAfter: 30, outcome: 'waiting-offload' };
  }
  await tx`delete from allocations where instance_id = ${inst.id}`;
  // The console was the removed domain's; an unshelved guest starts a new one.
  await tx`delete from instance_consoles where instance_id = ${inst.id}`;
  await addEventTo(tx, inst.current_action_id!, { event: 'offload', result: 'success', hostName: host.name });
  await finishAction(tx, inst.current_action_id!, 'succeeded');
  await tx`
    update instances set vm_state = 'shelved_offloaded', task_state = null, task_deadline_at = null, host_id = null,
           current_action_id = null, power_state = 'nostate', observed_generation = 0, failed_host_ids = '{}',
           schedule_attempts = 0
     where id = ${inst.id}`;
  return { outcome: 'offloaded' };
}
