import type { VmState } from './instance-status.ts';

/** What a guard needs to know of an instance. */
export interface GuardedInstance {
  name: string;
  vm_state: VmState;
  task_state: string | null;
  host_id: string | null;
  delete_requested_at: Date | null;
}

/** The vm_states each operation may start from (nova/compute/api.py's check_instance_state). */
const ALLOWED = {
  // Power changes (the spec's desired power state).
  start: ['stopped', 'paused', 'suspended'],
  stop: ['active'],
  pause: ['active'],
  suspend: ['active'],
  // Operations.
  'reboot-soft': ['active'],
  'reboot-hard': ['active', 'stopped', 'paused', 'suspended', 'error'],
  rebuild: ['active', 'stopped', 'error'],
  snapshot: ['active', 'stopped', 'paused', 'suspended'],
  shelve: ['active', 'stopped', 'paused', 'suspended'],
  unshelve: ['shelved_offloaded'],
  evacuate: ['active', 'stopped', 'error'],
  migrate: ['active', 'stopped'],
  'live-migrate': ['active', 'paused'],
  resize: ['active', 'stopped'],
  'confirm-resize': ['resized'],
  'revert-resize': ['resized'],
  rescue: ['active', 'stopped', 'error'],
  unrescue: ['rescued'],
  'attach-interface': ['active', 'paused', 'stopped'],
  'detach-interface': ['active', 'paused', 'stopped'],
} satisfies Record<string, VmState[]>;

export type GuardedOperation = keyof typeof ALLOWED;

/** How a refusal names the operation, where its name alone does not read well. */
const VERBS: Partial<Record<GuardedOperation, string>> = {
  'attach-interface': 'attach an interface to',
  'detach-interface': 'detach an interface from',
};

/** Operations that start from an instance with no host (everything else needs one). */
const HOSTLESS: GuardedOperation[] = ['unshelve'];

export function describeState(i: GuardedInstance): string {
  return `vm_state=${i.vm_state}, task_state=${i.task_state ?? 'none'}`;
}

/**
 * Why the operation cannot start on the instance now, or null. Checked when it is requested (a
 * conflict error to the caller) and again when its turn comes (the operation fails with this).
 */
export function operationRefusal(op: GuardedOperation, i: GuardedInstance): string | null {
  const verb = VERBS[op] ?? op.replace('-', ' ');
  const allowed: readonly VmState[] = ALLOWED[op];
  if (i.delete_requested_at) return `cannot ${verb} instance ${i.name}: it is being deleted`;
  if (i.task_state !== null) return `cannot ${verb} instance ${i.name} while task ${i.task_state} runs`;
  if (!allowed.includes(i.vm_state)) {
    return `cannot ${verb} instance ${i.name} in vm_state ${i.vm_state} (allowed from ${allowed.join(', ')})`;
  }
  if (i.host_id === null && !HOSTLESS.includes(op)) return `cannot ${verb} instance ${i.name}: it is not on any host`;
  return null;
}
