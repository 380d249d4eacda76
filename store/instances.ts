import type { TxSql } from '../db/connect.ts';
import type { DesiredPowerState, TaskState, VmState } from '../core/instance-status.ts';

export interface Fault {
  code: string;
  message: string;
  details?: string;
  time: string;
}

export interface InstanceRow {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  flavor_id: string;
  image_id: string;
  requested_zone: string | null;
  desired_power_state: DesiredPowerState;
  metadata: Record<string, string>;
  /** Nova's server tags, a set (no duplicates). */
  tags: string[];
  user_data: string | null;
  config_drive: boolean;
  delete_requested_at: Date | null;
  generation: number;
  observed_generation: number;
  host_id: string | null;
  vm_state: VmState;
  task_state: TaskState | null;
  power_state: string;
  fault: Fault | null;
  failed_host_ids: string[];
  schedule_attempts: number;
  task_deadline_at: Date | null;
  agent_fault: (Fault & { generation: number }) | null;
  agent_reported_at: Date | null;
  launched_at: Date | null;
  current_action_id: string | null;
  shelved_image_id: string | null;
  migration_id: string | null;
  /** An admin's named host for the next placement (evacuate, unshelve). */
  requested_host_id: string | null;
  agent_completed_action_id: string | null;
  locked: boolean;
  locked_reason: string | null;
  locked_by: 'owner' | 'admin' | null;
  /** The key pair named at creation; the instance keeps its copy of the key. */
  key_name: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

/** The row locked for one reconcile step, so two steps of one instance never interleave. */
export async function lockInstance(tx: TxSql, id: string): Promise<InstanceRow | undefined> {
  const [row] = await tx<InstanceRow[]>`select * from instances where id = ${id} for update`;
  return row;
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
