/** Nova's state vocabulary and the API status it derives from vm_state and task_state. */

export type VmState =
  | 'building' | 'active' | 'stopped' | 'paused' | 'suspended' | 'error' | 'deleted' | 'shelved' | 'shelved_offloaded'
  | 'resized' | 'rescued';
export type TaskState =
  | 'scheduling' | 'spawning' | 'powering-off' | 'powering-on' | 'pausing' | 'unpausing'
  | 'suspending' | 'resuming' | 'deleting' | 'rebooting' | 'rebooting_hard' | 'rebuilding'
  | 'image_snapshot' | 'shelving' | 'shelving_offloading' | 'unshelving'
  | 'resize_prep' | 'resize_finish' | 'resize_reverting' | 'rescuing' | 'unrescuing' | 'migrating';
export type DesiredPowerState = 'running' | 'stopped' | 'paused' | 'suspended';

/** As nova/api/openstack/common.py maps them for the states this release has. */
export function deriveStatus(vm: VmState, task: TaskState | null = null): string {
  if (task === 'rebuilding') return 'REBUILD';
  if (task === 'resize_reverting') return 'REVERT_RESIZE';
  if (task === 'resize_prep' || task === 'resize_finish') return 'RESIZE';
  if (task === 'migrating') return 'MIGRATING';
  switch (vm) {
    case 'building':
      return 'BUILD';
    case 'active':
      return task === 'rebooting' ? 'REBOOT' : task === 'rebooting_hard' ? 'HARD_REBOOT' : 'ACTIVE';
    case 'stopped':
      return 'SHUTOFF';
    case 'paused':
      return 'PAUSED';
    case 'suspended':
      return 'SUSPENDED';
    case 'error':
      return 'ERROR';
    case 'deleted':
      return 'DELETED';
    case 'resized':
      return 'VERIFY_RESIZE';
    case 'rescued':
      return 'RESCUE';
    case 'shelved':
      return 'SHELVED';
    case 'shelved_offloaded':
      return 'SHELVED_OFFLOADED';
  }
}

/** The vm_state an instance settles in once its desired power state is reached. */
export function settledVmState(power: DesiredPowerState): VmState {
  return ({ running: 'active', stopped: 'stopped', paused: 'paused', suspended: 'suspended' } as const)[power];
}

/** The task shown while an agent carries a power change out. */
export function transitionTask(from: DesiredPowerState, to: DesiredPowerState): TaskState | null {
  if (from === to) return null;
  if (to === 'stopped') return 'powering-off';
  if (to === 'paused') return 'pausing';
  if (to === 'suspended') return 'suspending';
  return from === 'paused' ? 'unpausing' : from === 'suspended' ? 'resuming' : 'powering-on';
}
