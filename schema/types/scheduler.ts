import type { SchedulerConfig } from '../../reconciler/placement/config.ts';
import { weigherNames } from '../documents/scheduler-config.ts';
import { builder } from '../builder.ts';

export const SchedulerHintsInput = builder.inputType('SchedulerHintsInput', {
  description: "Nova's scheduler hints: same_host, different_host (instance IDs of your project) and query.",
  fields: (t) => ({
    sameHost: t.idList({ description: 'Place on a host that holds one of these instances' }),
    differentHost: t.idList({ description: 'Place on a host that holds none of these instances' }),
    query: t.field({ type: 'JSON', description: 'JsonFilter query, e.g. [">=", "$free_ram_mb", 1024] (as a variable, or its JSON text)' }),
  }),
});

const WeigherMultipliers = builder.objectRef<SchedulerConfig['weighers']>('WeigherMultipliers').implement({
  description: 'Weigher multipliers; aggregate metadata (e.g. ram_weight_multiplier) overrides them per host.',
  fields: (t) => Object.fromEntries(weigherNames.map((n) => [n, t.exposeFloat(n)])) as never,
});

export const WeigherMultipliersInput = builder.inputType('WeigherMultipliersInput', {
  fields: (t) => Object.fromEntries(weigherNames.map((n) => [n, t.float()])) as Record<(typeof weigherNames)[number], ReturnType<typeof t.float>>,
});

export interface SchedulerConfigView {
  config: SchedulerConfig;
  appliedBy: string | null;
  appliedAt: Date | null;
}

export const SchedulerConfigType = builder.objectRef<SchedulerConfigView>('SchedulerConfig').implement({
  description: 'The configuration in force: version 0 is the built-in default; each apply makes a new version.',
  fields: (t) => ({
    version: t.int({ resolve: (v) => v.config.version }),
    filters: t.stringList({ description: 'Enabled filters, in the order they run', resolve: (v) => v.config.filters }),
    weighers: t.field({ type: WeigherMultipliers, resolve: (v) => v.config.weighers }),
    hostSubsetSize: t.int({ resolve: (v) => v.config.hostSubsetSize }),
    candidateLimit: t.int({ description: 'Hosts the coarse SQL filter hands to the precise filters', resolve: (v) => v.config.candidateLimit }),
    maxInstancesPerHost: t.int({ resolve: (v) => v.config.maxInstancesPerHost }),
    maxIoOpsPerHost: t.int({ resolve: (v) => v.config.maxIoOpsPerHost }),
    isolatedHosts: t.stringList({ resolve: (v) => v.config.isolatedHosts }),
    isolatedImages: t.stringList({ resolve: (v) => v.config.isolatedImages }),
    restrictIsolatedHostsToIsolatedImages: t.boolean({ resolve: (v) => v.config.restrictIsolatedHostsToIsolatedImages }),
    appliedBy: t.string({ nullable: true, description: 'User name', resolve: (v) => v.appliedBy }),
    appliedAt: t.field({ type: 'DateTime', nullable: true, resolve: (v) => v.appliedAt }),
  }),
});

export const SchedulerConfigInput = builder.inputType('SchedulerConfigInput', {
  description: 'A whole configuration: absent fields take the defaults (not the previous version).',
  fields: (t) => ({
    filters: t.stringList({ description: 'Enabled filters in order, e.g. Compute, AvailabilityZone, RAM' }),
    weighers: t.field({ type: WeigherMultipliersInput }),
    hostSubsetSize: t.int(),
    candidateLimit: t.int(),
    maxInstancesPerHost: t.int(),
    maxIoOpsPerHost: t.int(),
    isolatedHosts: t.stringList(),
    isolatedImages: t.stringList(),
    restrictIsolatedHostsToIsolatedImages: t.boolean(),
  }),
});

/** One host's fate in an explanation: rejected by a filter (with why), or weighed and ranked. */
export interface HostVerdict {
  host: string;
  passed: boolean;
  filter: string | null;
  reason: string | null;
  weight: number | null;
  rank: number | null;
}

const HostVerdictType = builder.objectRef<HostVerdict>('HostVerdict').implement({
  fields: (t) => ({
    host: t.exposeString('host'),
    passed: t.exposeBoolean('passed'),
    filter: t.exposeString('filter', { nullable: true, description: 'The first filter that rejected the host' }),
    reason: t.exposeString('reason', { nullable: true }),
    weight: t.exposeFloat('weight', { nullable: true }),
    rank: t.exposeInt('rank', { nullable: true, description: '1 is where the instance would go' }),
  }),
});

export interface PlacementExplanation {
  summary: string;
  configVersion: number;
  filters: string[];
  hosts: HostVerdict[];
}

export const PlacementExplanationType = builder.objectRef<PlacementExplanation>('PlacementExplanation').implement({
  description: 'What the scheduler would do with a would-be instance, host by host.',
  fields: (t) => ({
    summary: t.exposeString('summary', { description: 'As a NoValidHost fault would say it, or where it would go' }),
    configVersion: t.exposeInt('configVersion'),
    filters: t.exposeStringList('filters'),
    hosts: t.field({ type: [HostVerdictType], description: 'Ranked hosts first, then rejected ones by name', resolve: (e) => e.hosts }),
  }),
});

export const ExplainPlacementInput = builder.inputType('ExplainPlacementInput', {
  fields: (t) => ({
    flavor: t.string({ required: true }),
    image: t.string({ required: true }),
    zone: t.string(),
    serverGroup: t.string(),
    schedulerHints: t.field({ type: SchedulerHintsInput }),
    project: t.string({ description: 'Explain as this project (name or ID); default your own' }),
  }),
});
