import { loadPorts, type PortView } from '../../store/ports.ts';
import { Port } from './network.ts';
import { createHash } from 'node:crypto';
import { deriveStatus } from '../../core/instance-status.ts';
import type { Fault as FaultRow, InstanceRow } from '../../store/instances.ts';
import type { ActionEventRow, ActionRow, AllocationRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';
import { KeyValue, toPairs } from '../scalars.ts';
import { Flavor } from './flavor.ts';

export const PowerStateEnum = builder.enumType('DesiredPowerState', {
  values: ['running', 'stopped', 'paused', 'suspended'] as const,
});

export const Fault = builder.objectRef<FaultRow>('Fault').implement({
  description: 'Why an instance is in ERROR or why its last change failed.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
    details: t.exposeString('details', { nullable: true }),
    time: t.exposeString('time'),
  }),
});

export const InstanceActionEvent = builder.objectRef<ActionEventRow>('InstanceActionEvent').implement({
  fields: (t) => ({
    event: t.exposeString('event'),
    result: t.exposeString('result'),
    host: t.exposeString('host_name', { nullable: true }),
    details: t.exposeString('details', { nullable: true }),
    startedAt: t.expose('started_at', { type: 'DateTime' }),
    finishedAt: t.expose('finished_at', { type: 'DateTime', nullable: true }),
  }),
});

export const InstanceAction = builder.objectRef<ActionRow>('InstanceAction').implement({
  description: "One request against an instance and its steps (Nova's os-instance-actions).",
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instance_id'),
    action: t.exposeString('action'),
    requestId: t.exposeString('request_id'),
    userId: t.exposeID('user_id', { nullable: true }),
    state: t.exposeString('state'),
    message: t.exposeString('message', { nullable: true }),
    imageId: t.id({
      nullable: true,
      description: 'The image a snapshot or shelve writes, or a rebuild boots from',
      resolve: (a) => (a.params.imageId as string | undefined) ?? null,
    }),
    portId: t.id({
      nullable: true,
      description: 'The port an interface attach or detach is about',
      resolve: (a) => (a.params.portId as string | undefined) ?? null,
    }),
    startedAt: t.expose('started_at', { type: 'DateTime' }),
    finishedAt: t.expose('finished_at', { type: 'DateTime', nullable: true }),
    events: t.field({
      type: [InstanceActionEvent],
      resolve: (a, _args, ctx) =>
        ctx.sql<ActionEventRow[]>`select * from instance_action_events where action_id = ${a.id} order by id`,
    }),
  }),
});

export const InterfaceAttachment = builder.objectRef<{ port: PortView; action: ActionRow }>('InterfaceAttachment').implement({
  description: "A NIC attached to (or detached from) an instance: its port, and the action that follows the host's work.",
  fields: (t) => ({
    port: t.field({ type: Port, resolve: (a) => a.port }),
    action: t.field({ type: InstanceAction, resolve: (a) => a.action }),
  }),
});

export const Allocation = builder.objectRef<AllocationRow & { host_name: string }>('Allocation').implement({
  fields: (t) => ({
    host: t.exposeString('host_name'),
    vcpus: t.exposeInt('vcpus'),
    memoryMb: t.exposeInt('memory_mb'),
    diskGb: t.exposeInt('disk_gb'),
  }),
});

export const Instance = builder.objectRef<InstanceRow>('Instance').implement({
  description: 'A virtual machine: its spec (what you asked for) and its status (what the hosts report).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    projectId: t.exposeID('project_id'),
    userId: t.exposeID('user_id'),
    flavor: t.field({ type: Flavor, resolve: async (i, _a, ctx) => (await ctx.loaders.flavor.load(i.flavor_id))! }),
    imageId: t.exposeID('image_id'),
    requestedZone: t.exposeString('requested_zone', { nullable: true }),
    desiredPowerState: t.exposeString('desired_power_state'),
    metadata: t.field({ type: [KeyValue], resolve: (i) => toPairs(i.metadata) }),
    tags: t.exposeStringList('tags', { description: "Nova's server tags, in the order first given" }),
    configDrive: t.exposeBoolean('config_drive', { description: 'The metadata also on a CD-ROM labelled config-2' }),
    generation: t.exposeInt('generation'),
    observedGeneration: t.exposeInt('observed_generation'),
    status: t.string({ description: 'Derived as Nova derives it (ACTIVE, BUILD, SHUTOFF, ERROR, …)', resolve: (i) => deriveStatus(i.vm_state, i.task_state) }),
    vmState: t.exposeString('vm_state'),
    taskState: t.exposeString('task_state', { nullable: true }),
    powerState: t.exposeString('power_state'),
    fault: t.expose('fault', { type: Fault, nullable: true }),
    deleting: t.boolean({ resolve: (i) => i.delete_requested_at !== null }),
    keyName: t.exposeString('key_name', { nullable: true, description: 'The key pair named at creation (Nova\'s key_name)' }),
    locked: t.exposeBoolean('locked'),
    lockedReason: t.exposeString('locked_reason', { nullable: true }),
    lockedBy: t.exposeString('locked_by', { nullable: true, description: 'owner or admin; an admin lock binds the owner too' }),
    hostId: t.string({
      nullable: true,
      description: "An opaque per-project host identifier (Nova's hostId): equal for instances that share a host",
      resolve: (i) => (i.host_id ? createHash('sha224').update(i.project_id + i.host_id).digest('hex') : null),
    }),
    zone: t.string({
      nullable: true,
      description: "The zone of the host it runs on (Nova's OS-EXT-AZ:availability_zone), else the zone it asked for",
      resolve: async (i, _a, ctx) => {
        const host = i.host_id ? await ctx.loaders.host.load(i.host_id) : undefined;
        const zone = host?.zone_id ? await ctx.loaders.zone.load(host.zone_id) : undefined;
        return zone?.name ?? i.requested_zone ?? null;
      },
    }),
    hostName: t.string({
      nullable: true,
      description: 'The host the instance is bound to; admins only',
      resolve: async (i, _a, ctx) => {
        if (!i.host_id || !ctx.policy.allows(ctx.principal, 'host:list')) return null;
        return (await ctx.loaders.host.load(i.host_id))?.name ?? null;
      },
    }),
    allocations: t.field({
      type: [Allocation],
      description: 'Resources this instance holds; admins only (empty otherwise)',
      resolve: (i, _a, ctx) =>
        ctx.policy.allows(ctx.principal, 'host:list')
          ? ctx.sql<(AllocationRow & { host_name: string })[]>`
              select a.*, h.name as host_name from allocations a join hosts h on h.id = a.host_id
               where a.instance_id = ${i.id} order by h.name`
          : [],
    }),
    actions: t.field({
      type: [InstanceAction],
      resolve: (i, _a, ctx) =>
        ctx.sql<ActionRow[]>`select * from instance_actions where instance_id = ${i.id} order by started_at, id`,
    }),
    ports: t.field({
      type: [Port],
      description: "The instance's NICs: network, MAC and addresses of each",
      resolve: (i, _a, ctx) => loadPorts(ctx.sql, { projectId: null, instanceId: i.id }),
    }),
    launchedAt: t.expose('launched_at', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
    updatedAt: t.expose('updated_at', { type: 'DateTime' }),
    revision: t.string({ description: 'Change revision (a decimal string; grows with every write)', resolve: (i) => String(i.revision) }),
  }),
});
