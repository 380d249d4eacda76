import type { HostLiveness } from '../../store/host-liveness.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { deadlinePassed } from './progress.ts';

/** The fault an agent reports for a step it could not carry out, naming the step's action. */
interface StepFault {
  action?: string;
  message: string;
  details?: string | null;
}

/**
 * How the agent's step (the instance's current action) ended, read the same way by every step:
 * the agent reported it (failed with its reason, or done), the host carrying it went down, or its
 * deadline passed. Null while it is still under way. `who` names the host in reasons ("host",
 * "source"); `during` what it was doing ("the operation").
 */
export function agentStepOutcome(
  inst: InstanceRow,
  host: HostLiveness,
  who: string,
  during: string,
  timeoutSeconds: number,
): { failure: string | null } | null {
  const step = inst.current_action_id;
  if (step !== null && inst.agent_completed_action_id === step) {
    const f = inst.agent_fault as StepFault | null;
    if (f?.action !== step) return { failure: null };
    return { failure: f.details ? `${f.message}: ${f.details}` : f.message };
  }
  if (!host.up) return { failure: `${who} ${host.name} went down during ${during}` };
  if (deadlinePassed(inst)) return { failure: `${who} ${host.name} did not finish ${during} within ${timeoutSeconds} s` };
  return null;
}
