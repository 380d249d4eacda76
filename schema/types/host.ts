import type { HostRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';

export type HostWithUsage = HostRow & {
  zone_name: string | null;
  capacity_vcpus: number;
  capacity_memory_mb: number;
  capacity_disk_gb: number;
  up: boolean;
  instance_count: number;
};

const Resources = builder.objectRef<{ vcpus: number; memoryMb: number; diskGb: number }>('Resources').implement({
  fields: (t) => ({ vcpus: t.exposeInt('vcpus'), memoryMb: t.exposeInt('memoryMb'), diskGb: t.exposeInt('diskGb') }),
});

const Ratios = builder.objectRef<{ cpu: number | null; ram: number | null; disk: number | null }>('AllocationRatios').implement({
  description: 'Per-host overrides; null means the default (cpu 16.0, ram 1.5, disk 1.0)',
  fields: (t) => ({
    cpu: t.exposeFloat('cpu', { nullable: true }),
    ram: t.exposeFloat('ram', { nullable: true }),
    disk: t.exposeFloat('disk', { nullable: true }),
  }),
});

interface OrphanRow {
  domain_uuid: string;
  power_state: string;
  action: string;
  first_seen_at: Date;
  last_seen_at: Date;
}

const HostOrphan = builder.objectRef<OrphanRow>('HostOrphan').implement({
  fields: (t) => ({
    domainUuid: t.exposeID('domain_uuid'),
    powerState: t.exposeString('power_state'),
    action: t.exposeString('action'),
    firstSeenAt: t.expose('first_seen_at', { type: 'DateTime' }),
    lastSeenAt: t.expose('last_seen_at', { type: 'DateTime' }),
  }),
});

export const Host = builder.objectRef<HostWithUsage>('Host').implement({
  description: "A compute host, enrolled by its agent (Nova's compute service and hypervisor in one).",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    zone: t.exposeString('zone_name', { nullable: true }),
    state: t.string({ description: 'up while its heartbeat lease is fresh, else down', resolve: (h) => (h.up ? 'up' : 'down') }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabled_reason', { nullable: true }),
    forcedDown: t.exposeBoolean('forced_down'),
    lastHeartbeatAt: t.expose('last_heartbeat_at', { type: 'DateTime', nullable: true }),
    downSince: t.expose('down_since', { type: 'DateTime', nullable: true }),
    epoch: t.exposeInt('epoch'),
    hypervisorType: t.exposeString('hypervisor_type'),
    hypervisorVersion: t.exposeString('hypervisor_version'),
    architecture: t.exposeString('architecture'),
    capabilities: t.expose('capabilities', { type: 'JSON' }),
    inventory: t.field({ type: Resources, resolve: (h) => ({ vcpus: h.vcpus, memoryMb: h.memory_mb, diskGb: h.disk_gb }) }),
    reserved: t.field({
      type: Resources,
      resolve: (h) => ({ vcpus: h.reserved_vcpus, memoryMb: h.reserved_memory_mb, diskGb: h.reserved_disk_gb }),
    }),
    capacity: t.field({
      type: Resources,
      description: '(inventory - reserved) x allocation ratio: what claims may fill',
      resolve: (h) => ({ vcpus: h.capacity_vcpus, memoryMb: h.capacity_memory_mb, diskGb: h.capacity_disk_gb }),
    }),
    used: t.field({ type: Resources, resolve: (h) => ({ vcpus: h.used_vcpus, memoryMb: h.used_memory_mb, diskGb: h.used_disk_gb }) }),
    effectiveAllocationRatios: t.field({
      type: Ratios,
      description: 'The ratios claims use now: the smallest of its aggregates, else its own, else the default',
      resolve: (h) => ({ cpu: h.effective_cpu_ratio, ram: h.effective_ram_ratio, disk: h.effective_disk_ratio }),
    }),
    allocationRatios: t.field({
      type: Ratios,
      resolve: (h) => ({ cpu: h.cpu_allocation_ratio, ram: h.ram_allocation_ratio, disk: h.disk_allocation_ratio }),
    }),
    instanceCount: t.exposeInt('instance_count'),
    orphanPolicy: t.exposeString('orphan_policy', { description: 'remove: the agent destroys orphan domains; keep: it only reports them' }),
    migrationUri: t.exposeString('migration_uri', {
      nullable: true,
      description: "Where other hosts' hypervisors reach this one for a live migration (from its agent); null: it receives none",
    }),
    orphans: t.field({
      type: [HostOrphan],
      description: 'Orrery domains found on this host that no instance binds to it',
      resolve: (h, _a, ctx) =>
        ctx.sql<OrphanRow[]>`select * from host_orphans where host_id = ${h.id} order by first_seen_at`,
    }),
    enrolledAt: t.expose('enrolled_at', { type: 'DateTime' }),
  }),
});
