import type { TxSql } from '../../db/connect.ts';
import { operationRefusal } from '../../core/operation-guards.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { addEventTo, finishAction } from '../../store/actions.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';

interface PendingOperation {
  id: string;
  action: string;
  params: { hard?: boolean };
}

export interface HostState {
  name: string;
  up: boolean;
}

/**
 * Starts the oldest queued operation when the instance has settled, or fails it with the reason
 * when the instance can no longer take it. Null when nothing is queued.
 */
export async function startNextOperation(
  tx: TxSql,
  inst: InstanceRow,
  host: HostState,
  deps: ReconcileDeps,
): Promise<ReconcileResult | null> {
  const [op] = await tx<PendingOperation[]>`
    select id, action, params from instance_actions
     where instance_id = ${inst.id} and state = 'pending' order by started_at, id limit 1`;
  if (!op) return null;
  const hard = op.params.hard === true;
  const refusal = operationRefusal(hard ? 'reboot-hard' : 'reboot-soft', inst);
  if (refusal) {
    await addEventTo(tx, op.id, { event: op.action, result: 'error', details: refusal });
    await finishAction(tx, op.id, 'failed', refusal);
    return { requeueAfter: 0, outcome: `refused ${op.action}` };
  }
  // A hard reboot boots whatever state the guest was in; the desired power state follows.
  await tx`
    update instances set current_action_id = ${op.id}, task_state = ${hard ? 'rebooting_hard' : 'rebooting'},
           desired_power_state = case when ${hard} then 'running' else desired_power_state end,
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
  host: HostState,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const opId = inst.current_action_id!;
  let failure: string | null = null;
  if (inst.agent_completed_action_id === opId) {
    const f = inst.agent_fault as ({ action?: string; message: string } | null);
    failure = f?.action === opId ? f.message : null;
  } else if (!host.up) {
    failure = `host ${host.name} went down during the operation`;
  } else if (inst.task_deadline_at && inst.task_deadline_at.getTime() <= Date.now()) {
    failure = `host ${host.name} did not finish the operation within ${deps.config.spawnTimeoutSeconds} s`;
  } else {
    return { requeueAfter: 30, outcome: 'waiting-operation' };
  }
  await addEventTo(tx, opId, { event: 'done', result: failure ? 'error' : 'success', hostName: host.name, details: failure ?? undefined });
  await finishAction(tx, opId, failure ? 'failed' : 'succeeded', failure ?? undefined);
  const f = failure ? fault('OperationFailed', failure) : null;
  await tx`
    update instances set current_action_id = null, task_state = null, task_deadline_at = null,
           fault = coalesce(${f ? tx.json(f as never) : null}::jsonb, fault)
     where id = ${inst.id}`;
  return { requeueAfter: 0, outcome: failure ? 'operation-failed' : 'operation-done' };
}
