import type { AgentInstanceRow, AgentView, AgentViewChange, IncomingMigration } from '../../store/agent-view.ts';
import { builder } from '../builder.ts';
import { KeyValue, toPairs } from '../scalars.ts';
import { AgentNetwork } from './agent-network.ts';

export const AgentImage = builder.objectRef<AgentInstanceRow>('AgentImage').implement({
  fields: (t) => ({
    id: t.exposeID('image_id'),
    diskFormat: t.exposeString('image_disk_format'),
    checksum: t.exposeString('image_checksum', { nullable: true }),
    properties: t.field({ type: [KeyValue], resolve: (i) => toPairs(i.image_properties) }),
  }),
});

const AgentOperationImage = builder.objectRef<AgentInstanceRow>('AgentOperationImage').implement({
  fields: (t) => ({
    id: t.id({ resolve: (i) => i.operation_params!.imageId as string }),
    diskFormat: t.string({ resolve: (i) => i.operation_image_format! }),
    checksum: t.string({ nullable: true, resolve: (i) => i.operation_image_checksum }),
  }),
});

const AgentMigrationTarget = builder.objectRef<AgentInstanceRow>('AgentMigrationTarget').implement({
  description: "Where a live migration sends the guest: the destination hypervisor's URI and what its driver prepared.",
  fields: (t) => ({
    uri: t.string({ resolve: (i) => i.operation_target_uri! }),
    prepared: t.field({ type: [KeyValue], resolve: (i) => toPairs(i.operation_target_prepared ?? {}) }),
  }),
});

const AgentIncomingMigration = builder.objectRef<IncomingMigration>('AgentIncomingMigration').implement({
  description: 'A live migration this host receives: prepare for it, then report with reportMigrationPrepared.',
  fields: (t) => ({
    migrationId: t.exposeID('migrationId'),
    instanceId: t.exposeID('instanceId'),
    diskGb: t.exposeInt('diskGb'),
  }),
});

const AgentOperation = builder.objectRef<AgentInstanceRow>('AgentOperation').implement({
  description: 'A one-shot request the agent carries out once, then reports as completed.',
  fields: (t) => ({
    id: t.id({ resolve: (i) => i.operation_id! }),
    kind: t.string({ resolve: (i) => i.operation_kind! }),
    hard: t.boolean({ resolve: (i) => i.operation_params?.hard === true }),
    imageId: t.id({ nullable: true, description: 'The image a snapshot or shelve writes', resolve: (i) => (i.operation_params?.imageId as string | undefined) ?? null }),
    image: t.field({
      type: AgentOperationImage,
      nullable: true,
      description: 'The image a rescue boots from',
      resolve: (i) => (i.operation_image_format ? i : null),
    }),
    migration: t.field({
      type: AgentMigrationTarget,
      nullable: true,
      description: 'Where a live migration goes',
      resolve: (i) => (i.operation_target_uri ? i : null),
    }),
  }),
});

const AgentKeyPair = builder.objectRef<{ name: string; publicKey: string }>('AgentKeyPair').implement({
  fields: (t) => ({ name: t.exposeString('name'), publicKey: t.exposeString('publicKey') }),
});

export const AgentInstance = builder.objectRef<AgentInstanceRow>('AgentInstance').implement({
  description: 'What a host agent must make true for one instance bound to its host.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    generation: t.exposeInt('generation'),
    observedGeneration: t.exposeInt('observed_generation'),
    deleted: t.exposeBoolean('deleted'),
    powerState: t.exposeString('desired_power_state'),
    vcpus: t.exposeInt('vcpus'),
    memoryMb: t.exposeInt('memory_mb'),
    diskGb: t.exposeInt('disk_gb'),
    image: t.field({ type: AgentImage, resolve: (i) => i }),
    userData: t.exposeString('user_data', { nullable: true }),
    operation: t.field({ type: AgentOperation, nullable: true, resolve: (i) => (i.operation_id ? i : null) }),
    completedOperationId: t.exposeID('completed_operation_id', { nullable: true }),
    metadata: t.field({ type: [KeyValue], resolve: (i) => toPairs(i.metadata) }),
    projectId: t.exposeID('project_id'),
    availabilityZone: t.exposeString('availability_zone', { nullable: true }),
    keyPair: t.field({
      type: AgentKeyPair,
      nullable: true,
      description: 'The key pair chosen at creation, as it was then',
      resolve: (i) => (i.key_name !== null && i.key_data !== null ? { name: i.key_name, publicKey: i.key_data } : null),
    }),
    configDrive: t.exposeBoolean('config_drive'),
    requestId: t.exposeString('request_id', {
      nullable: true,
      description: 'The request id of the action under way on it (the mutation that asked for it): the agent logs its steps with it',
    }),
  }),
});

/** The host's own part of its view, in a full view and in each change alike. */
const AgentHostState = builder.interfaceRef<Omit<AgentView, 'instances' | 'networks'>>('AgentHostState').implement({
  fields: (t) => ({
    hostId: t.exposeID('hostId'),
    hostName: t.exposeString('hostName'),
    epoch: t.exposeInt('epoch'),
    enabled: t.exposeBoolean('enabled'),
    orphanPolicy: t.exposeString('orphanPolicy'),
    fenced: t.exposeIDList('fenced', { description: 'Instances that run elsewhere now: destroy their domains here' }),
    held: t.exposeIDList('held', { description: 'Instances moving away: keep their domains as they are until the move is settled' }),
    incoming: t.field({ type: [AgentIncomingMigration], resolve: (v) => v.incoming }),
    revision: t.string({ resolve: (v) => String(v.revision) }),
  }),
});

export const AgentAssignments = builder.objectRef<AgentView>('AgentAssignments').implement({
  description: "The whole desired state of one host: a full list each time, so a reconnect misses nothing.",
  interfaces: [AgentHostState],
  isTypeOf: (v) => !('full' in (v as object)),
  fields: (t) => ({
    instances: t.field({ type: [AgentInstance], resolve: (v) => v.instances }),
    networks: t.field({ type: [AgentNetwork], resolve: (v) => v.networks }),
  }),
});

export const AgentAssignmentChanges = builder.objectRef<AgentViewChange>('AgentAssignmentChanges').implement({
  description:
    "What changed in one host's desired state since the watch's last push: the host's own part always; the " +
    'instances whose desired state changed, those no longer bound here, and the networks only when they changed. ' +
    'The first push of a watch is the full state (full: true), so a reconnect misses nothing.',
  interfaces: [AgentHostState],
  isTypeOf: (v) => 'full' in (v as object),
  fields: (t) => ({
    full: t.exposeBoolean('full', { description: 'This push is the whole state: replace, do not merge' }),
    instances: t.field({ type: [AgentInstance], description: 'Every instance (full) or those that changed', resolve: (v) => v.instances }),
    removed: t.exposeIDList('removed', { description: 'Instances to drop from the view' }),
    networks: t.field({ type: [AgentNetwork], nullable: true, description: 'Null: as last pushed', resolve: (v) => v.networks }),
  }),
});
