import { ConflictError } from '../core/errors.ts';
import type { DesiredPowerState } from '../core/instance-status.ts';
import { describeState, operationRefusal } from '../core/operation-guards.ts';
import type { TxSql } from '../db/connect.ts';
import { hasPendingOperation } from '../store/actions.ts';
import type { InstanceRow } from '../store/instances.ts';

const VERB = { running: 'start', stopped: 'stop', paused: 'pause', suspended: 'suspend' } as const;

/** Refuses a power change the instance cannot take now, naming the state it is in. */
export function checkPowerChange(inst: InstanceRow, to: DesiredPowerState): void {
  if (inst.desired_power_state === to) return;
  const refusal = operationRefusal(VERB[to], inst);
  if (refusal) throw new ConflictError(refusal, describeState(inst));
}

/**
 * Refuses a second queued operation while one waits its turn: it would be checked against the
 * state now, not the one the first leaves behind (a resize queued behind a migration would meet
 * VERIFY_RESIZE, and block the confirm that state waits for).
 */
export async function checkNoOperationWaiting(tx: TxSql, inst: InstanceRow): Promise<void> {
  if (await hasPendingOperation(tx, inst.id)) {
    throw new ConflictError(`instance ${inst.name} already has an operation waiting`, describeState(inst));
  }
}

/** The action-log name of a power change (starting a paused guest is an unpause). */
export function actionName(from: DesiredPowerState, to: DesiredPowerState): string {
  if (to === 'running') return from === 'paused' ? 'unpause' : from === 'suspended' ? 'resume' : 'start';
  return VERB[to];
}
