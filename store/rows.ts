/** Row shapes of the catalogue tables, as postgres.js returns them. */

export interface ProjectRow {
  id: string;
  name: string;
  description: string;
  created_at: Date;
}

export interface UserRow {
  id: string;
  name: string;
  created_at: Date;
}

export interface ZoneRow {
  id: string;
  name: string;
  description: string;
  created_at: Date;
}

export interface FlavorRow {
  id: string;
  name: string;
  vcpus: number;
  ram_mb: number;
  disk_gb: number;
  ephemeral_gb: number;
  swap_mb: number;
  extra_specs: Record<string, string>;
  is_public: boolean;
  description: string;
  created_at: Date;
}

export interface ImageRow {
  id: string;
  name: string;
  owner_project_id: string;
  visibility: 'public' | 'private';
  disk_format: 'qcow2' | 'raw';
  status: 'queued' | 'saving' | 'active' | 'killed';
  size_bytes: number | null;
  /** The guest's disk size the file's header gives (null: unknown). */
  virtual_size_bytes: number | null;
  checksum: string | null;
  min_disk_gb: number;
  min_ram_mb: number;
  properties: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

export interface HostRow {
  id: string;
  name: string;
  zone_id: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  last_heartbeat_at: Date | null;
  down_since: Date | null;
  epoch: number;
  hypervisor_type: string;
  hypervisor_version: string;
  architecture: string;
  capabilities: Record<string, unknown>;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  reserved_vcpus: number;
  reserved_memory_mb: number;
  reserved_disk_gb: number;
  cpu_allocation_ratio: number | null;
  ram_allocation_ratio: number | null;
  disk_allocation_ratio: number | null;
  used_vcpus: number;
  used_memory_mb: number;
  used_disk_gb: number;
  effective_cpu_ratio: number;
  effective_ram_ratio: number;
  effective_disk_ratio: number;
  orphan_policy: 'remove' | 'keep';
  migration_uri: string | null;
  enrolled_at: Date;
  updated_at: Date;
}

export interface AggregateRow {
  id: string;
  name: string;
  metadata: Record<string, string>;
  created_at: Date;
}

export interface ActionRow {
  id: string;
  instance_id: string;
  project_id: string;
  action: string;
  request_id: string;
  user_id: string | null;
  state: string;
  message: string | null;
  params: Record<string, unknown>;
  started_at: Date;
  finished_at: Date | null;
}

export interface ActionEventRow {
  id: number;
  action_id: string;
  event: string;
  result: string;
  host_name: string | null;
  details: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface AllocationRow {
  instance_id: string;
  host_id: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}
