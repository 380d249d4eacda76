import type { InstanceRow } from '../../store/instances.ts';

/** What the agent's reports say about the current generation and task, read the same way by every step. */

const WAIT_POLL_SECONDS = 30;

/** The agent failed to apply the current generation. */
export function agentFailed(inst: InstanceRow): boolean {
  return inst.agent_fault !== null && inst.agent_fault.generation === inst.generation;
}

/** The agent applied the current generation. */
export function converged(inst: InstanceRow): boolean {
  return inst.observed_generation >= inst.generation && !agentFailed(inst);
}

/** A build of the current generation: done (a domain exists), failed, or still going. */
export function buildState(inst: InstanceRow): 'ok' | 'failed' | 'waiting' {
  if (agentFailed(inst)) return 'failed';
  return converged(inst) && inst.power_state !== 'nostate' ? 'ok' : 'waiting';
}

export function deadlinePassed(inst: InstanceRow): boolean {
  return inst.task_deadline_at !== null && inst.task_deadline_at.getTime() <= Date.now();
}

/** How long to wait before looking again: until the deadline, at most the poll period. */
export function secondsToDeadline(inst: InstanceRow): number {
  if (!inst.task_deadline_at) return WAIT_POLL_SECONDS;
  const s = Math.ceil((inst.task_deadline_at.getTime() - Date.now()) / 1000);
  return Math.max(1, Math.min(WAIT_POLL_SECONDS, s));
}
