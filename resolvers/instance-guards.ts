import { ConflictError } from '../core/errors.ts';
import type { DesiredPowerState, VmState } from '../core/instance-status.ts';
import type { InstanceRow } from '../store/instances.ts';

/** From which vm_states Nova lets each power change start (nova/compute/api.py's state guards). */
const ALLOWED_FROM: Record<DesiredPowerState, VmState[]> = {
  running: ['stopped', 'paused', 'suspended'],
  stopped: ['active'],
  paused: ['active'],
  suspended: ['active'],
};

const VERB: Record<DesiredPowerState, string> = {
  running: 'start',
  stopped: 'stop',
  paused: 'pause',
  suspended: 'suspend',
};

/** Refuses a power change the instance cannot take now, naming the state it is in. */
export function checkPowerChange(inst: InstanceRow, to: DesiredPowerState): void {
  if (inst.desired_power_state === to) return;
  const state = `vm_state=${inst.vm_state}, task_state=${inst.task_state ?? 'none'}`;
  if (inst.delete_requested_at) throw new ConflictError(`cannot ${VERB[to]} instance ${inst.name}: it is being deleted`, state);
  if (inst.task_state !== null) {
    throw new ConflictError(`cannot ${VERB[to]} instance ${inst.name} while task ${inst.task_state} runs`, state);
  }
  if (!ALLOWED_FROM[to].includes(inst.vm_state)) {
    throw new ConflictError(
      `cannot ${VERB[to]} instance ${inst.name} in vm_state ${inst.vm_state} (allowed from ${ALLOWED_FROM[to].join(', ')})`,
      state,
    );
  }
}

export function actionName(from: DesiredPowerState, to: DesiredPowerState): string {
  if (to === 'running') return from === 'paused' ? 'unpause' : from === 'suspended' ? 'resume' : 'start';
  return VERB[to];
}
