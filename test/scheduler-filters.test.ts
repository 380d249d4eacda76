import { describe, expect, it } from 'vitest';
import { defaultSchedulerConfig, type SchedulerConfig } from '../reconciler/placement/config.ts';
import { matchesExtraSpec } from '../reconciler/placement/extra-specs-match.ts';
import { filtersByName, allWeighers, enabledFilters } from '../reconciler/placement/registry.ts';
import { claimOrder, schedule, summariseRejections } from '../reconciler/placement/schedule.ts';
import type { GroupView, HostView, PlacementRequest } from '../reconciler/placement/types.ts';
import type { FilterName } from '../schema/documents/scheduler-config.ts';
import { hostView as host, placementReq as req } from './support/placement-views.ts';

const config = (over: Partial<SchedulerConfig>): SchedulerConfig => ({ ...defaultSchedulerConfig, ...over });
const group = (policy: GroupView['policy'], membersByHost: [string, number][], maxServerPerHost = 1): GroupView => ({
  id: 'g1', name: 'web', policy, maxServerPerHost, membersByHost: new Map(membersByHost),
});
const agg = (metadata: Record<string, string>, name = 'a') => ({ name, metadata });

type Case = [string, Partial<PlacementRequest>, Partial<HostView>, string | null];

const cases: Record<FilterName, Case[]> = {
  Compute: [
    ['an up, enabled host', {}, {}, null],
    ['a disabled host', {}, { enabled: false }, 'disabled'],
    ['a forced-down host, even with a fresh heartbeat', {}, { forcedDown: true }, 'forced down'],
    ['a host whose lease expired', {}, { up: false, secondsSinceHeartbeat: 61 }, 'agent down (last heartbeat 61 s ago)'],
  ],
  AvailabilityZone: [
    ['no zone asked', {}, { zone: null }, null],
    ['another zone', { zone: 'az2' }, {}, 'in zone az1, not az2'],
  ],
  Retry: [['a host that failed this build', { failedHostIds: ['h1'] }, {}, 'already failed to build this instance']],
  RAM: [
    // 4096 MiB × ratio 1.5 − 1024 reserved is precomputed into capacity; exactly full still fits.
    ['exactly the free RAM', { memoryMb: 6144 }, {}, null],
    ['one MiB more than free', { memoryMb: 6145 }, {}, 'lacks RAM (need 6145 MiB, free 6144 MiB at ratio 1.5)'],
    ['an aggregate ratio lowered capacity', {}, { capacityMemoryMb: 2000, ratios: { cpu: 16, ram: 0.5, disk: 1 } }, 'lacks RAM (need 2048 MiB, free 2000 MiB at ratio 0.5)'],
  ],
  Disk: [['used up', { diskGb: 20 }, { usedDiskGb: 81 }, 'lacks disk (need 20 GiB, free 19 GiB at ratio 1)']],
  Core: [
    ['over-committed within the ratio', { vcpus: 4 }, { capacityVcpus: 64, usedVcpus: 60 }, null],
    ['past the ratio', { vcpus: 5 }, { capacityVcpus: 64, usedVcpus: 60 }, 'lacks vCPUs (need 5, free 4 at ratio 16)'],
  ],
  ComputeCapabilities: [
    ['no extra specs', {}, {}, null],
    ['other scopes are ignored', { extraSpecs: { 'hw:cpu_policy': 'dedicated', 'aggregate_instance_extra_specs:ssd': 'true' } }, {}, null],
    ['s== on the hypervisor', { extraSpecs: { 'capabilities:hypervisor_type': 's== QEMU' } }, {}, null],
    ['<in> on a feature list', { extraSpecs: { 'capabilities:cpu_features': '<in> avx2' } }, {}, null],
    ['<all-in> missing one', { extraSpecs: { 'capabilities:cpu_features': '<all-in> avx2 avx512f' } }, {}, 'cpu_features is ["avx2","aes"], flavor wants "<all-in> avx2 avx512f"'],
    ['a capability the host does not report fails', { extraSpecs: { 'capabilities:gpu': 'true' } }, {}, 'does not report gpu (flavor wants "true")'],
    ['unscoped keys are capabilities', { extraSpecs: { architecture: 'x86_64' } }, {}, null],
    ['numeric >= on a nested value', { extraSpecs: { 'capabilities:numa:nodes': '>= 2' } }, { capabilities: { numa: { nodes: 2 } } }, null],
  ],
  ImageProperties: [
    ['an image asking nothing', {}, { architecture: '' }, null],
    ['matching architecture by alias', { image: { id: 'i', name: 'deb', properties: { hw_architecture: 'amd64' } } }, {}, null],
    ['wrong architecture', { image: { id: 'i', name: 'deb', properties: { hw_architecture: 'aarch64' } } }, {}, 'architecture x86_64, image deb needs aarch64'],
    ['hypervisor type, any case', { image: { id: 'i', name: 'deb', properties: { img_hv_type: 'qemu' } } }, {}, null],
    ['hypervisor too old', { image: { id: 'i', name: 'deb', properties: { img_hv_requested_version: '>= 9.0' } } }, {}, 'hypervisor version 8.2.0, image deb needs >= 9.0'],
    ['hypervisor new enough', { image: { id: 'i', name: 'deb', properties: { img_hv_requested_version: '>= 8.1' } } }, {}, null],
    ['a host that reports no architecture', { image: { id: 'i', name: 'deb', properties: { architecture: 'x86_64' } } }, { architecture: '' }, 'architecture (unreported), image deb needs x86_64'],
  ],
  SameHost: [
    ['no hint', {}, {}, null],
    ['the host of a named instance', { sameHostIds: ['h1'] }, {}, null],
    ['named instances are elsewhere (or unplaced)', { sameHostIds: [] }, {}, 'holds none of the instances named by same_host'],
  ],
  DifferentHost: [
    ['elsewhere', { differentHostIds: ['h2'] }, {}, null],
    ['here', { differentHostIds: ['h1'] }, {}, 'holds an instance named by different_host'],
  ],
  ServerGroupAffinity: [
    ['the first member goes anywhere', { group: group('affinity', []) }, {}, null],
    ['where the members are', { group: group('affinity', [['h1', 2]]) }, {}, null],
    ['elsewhere', { group: group('affinity', [['h2', 1]]) }, {}, 'not the host of affinity group web'],
    ['another policy is not its business', { group: group('soft-affinity', [['h2', 1]]) }, {}, null],
  ],
  ServerGroupAntiAffinity: [
    ['a host without members', { group: group('anti-affinity', [['h2', 1]]) }, {}, null],
    ['a host with one member', { group: group('anti-affinity', [['h1', 1]]) }, {}, 'holds 1 member(s) of anti-affinity group web (max 1 per host)'],
    ['max_server_per_host 2 allows a second', { group: group('anti-affinity', [['h1', 1]], 2) }, {}, null],
    ['soft-anti-affinity never filters', { group: group('soft-anti-affinity', [['h1', 5]]) }, {}, null],
  ],
  AggregateInstanceExtraSpecs: [
    ['no extra specs', {}, {}, null],
    ['a matching aggregate', { extraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true' } }, { aggregates: [agg({ ssd: 'false' }), agg({ ssd: 'true' }, 'b')] }, null],
    ['no aggregate sets the key', { extraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true' } }, { aggregates: [agg({})] }, 'no aggregate of the host sets ssd (flavor wants "true")'],
    ['capabilities: keys belong to the other filter', { extraSpecs: { 'capabilities:hypervisor_type': 'QEMU' } }, {}, null],
    ['an operator over metadata', { extraSpecs: { 'aggregate_instance_extra_specs:tier': '<or> gold <or> silver' } }, { aggregates: [agg({ tier: 'bronze' })] }, 'aggregate tier is bronze, flavor wants "<or> gold <or> silver"'],
  ],
  AggregateMultiTenancyIsolation: [
    ['missing metadata passes', {}, { aggregates: [agg({ ssd: 'true' })] }, null],
    ['a listed project', {}, { aggregates: [agg({ filter_tenant_id: 'p0, p1' })] }, null],
    ['listed under a suffixed key', {}, { aggregates: [agg({ filter_tenant_id: 'p0', filter_tenant_id_2: 'p1' })] }, null],
    ['another project', {}, { aggregates: [agg({ filter_tenant_id: 'p0' })] }, 'reserved for other projects (filter_tenant_id)'],
  ],
  IsolatedHosts: [
    ['nothing isolated', {}, {}, null],
    ['an isolated image on a plain host', { config: config({ isolatedImages: ['cirros'] }) }, {}, 'image cirros is isolated; host is not'],
    ['a plain image on an isolated host', { config: config({ isolatedHosts: ['h1'] }) }, {}, 'host is isolated; image cirros is not'],
    ['a plain image on an isolated host, unrestricted', { config: config({ isolatedHosts: ['h1'], restrictIsolatedHostsToIsolatedImages: false }) }, {}, null],
    ['an isolated image on an isolated host', { config: config({ isolatedHosts: ['h1'], isolatedImages: ['img1'] }) }, {}, null],
  ],
  NumInstances: [
    ['below the limit', {}, { numInstances: 49 }, null],
    ['at the limit', {}, { numInstances: 50 }, 'runs 50 instances (max 50)'],
    ['an aggregate lowers it', {}, { numInstances: 3, aggregates: [agg({ max_instances_per_host: '3' }), agg({ max_instances_per_host: '10' }, 'b')] }, 'runs 3 instances (max 3)'],
    ['a non-numeric aggregate value is ignored', {}, { numInstances: 3, aggregates: [agg({ max_instances_per_host: 'many' })] }, null],
  ],
  IoOps: [
    ['quiet', {}, { numIoOps: 7 }, null],
    ['busy', {}, { numIoOps: 8 }, '8 I/O-heavy tasks in flight (max 8)'],
  ],
  Json: [
    ['no query', {}, {}, null],
    ['enough free RAM', { query: ['and', ['>=', '$free_ram_mb', 1024], ['in', '$hypervisor_type', 'QEMU', 'kvm']] }, {}, null],
    ['not enough', { query: ['>=', '$free_ram_mb', 8192] }, {}, 'does not satisfy query [">=","$free_ram_mb",8192]'],
    ['a missing variable drops out, leaving the comparison false', { query: ['=', '$nope', 1] }, {}, 'does not satisfy query ["=","$nope",1]'],
    ['not / or', { query: ['or', ['not', ['=', '$host', 'h1']], ['<', '$num_instances', 1]] }, {}, null],
    ['nested capability', { query: ['=', '$capabilities.cpu_model', 'Haswell'] }, {}, null],
  ],
};

describe.each(Object.entries(cases))('%s filter', (name, table) => {
  it.each(table)('%s', (_what, r, h, reason) => {
    expect(filtersByName[name as FilterName].check(req(r), host(h))).toBe(reason);
  });
});

describe("Nova's extra-spec operators", () => {
  it.each<[unknown, string, boolean]>([
    ['4', '= 2', true], // "=" means at least
    ['1', '= 2', false],
    [4, '== 4', true],
    ['4', '!= 4', false],
    ['2048', '<= 4096', true],
    ['abc', 's== abc', true],
    ['abc', 's!= abc', false],
    ['abc', 's< abd', true],
    ['abc', 's<= abc', true],
    ['abd', 's> abc', true],
    ['abc', 's>= abd', false],
    ['x86_64 avx', '<in> avx', true],
    [['avx', 'aes'], '<all-in> aes avx', true],
    [['avx'], '<all-in> aes avx', false],
    ['kvm', '<or> qemu <or> kvm', true],
    ['xen', '<or> qemu <or> kvm', false],
    ['plain', 'plain', true],
    [undefined, '>= 1', false],
    ['many', '>= 1', false],
    ['4', '>=', false],
  ])('%j against %j → %s', (offered, requirement, expected) => {
    expect(matchesExtraSpec(offered as never, requirement)).toBe(expected);
  });
});

describe('weighers', () => {
  const hosts = [
    host({ id: 'a', name: 'a', usedMemoryMb: 4000, numIoOps: 0 }),
    host({ id: 'b', name: 'b', usedMemoryMb: 0, numIoOps: 3 }),
    host({ id: 'c', name: 'c', usedMemoryMb: 2000, buildFailures: 2 }),
  ];
  const rank = (r: Partial<PlacementRequest>, hs = hosts) =>
    schedule(req(r), hs, enabledFilters(defaultSchedulerConfig), allWeighers).ranked.map((x) => x.host.name);
  const only = (w: Partial<SchedulerConfig['weighers']>) =>
    config({ weighers: { RAM: 0, CPU: 0, Disk: 0, IoOps: 0, NumInstances: 0, ServerGroupSoftAffinity: 0, ServerGroupSoftAntiAffinity: 0, BuildFailure: 0, ...w } });

  it.each<[string, Partial<SchedulerConfig['weighers']>, string[]]>([
    ['RAM spreads by free memory', { RAM: 1 }, ['b', 'c', 'a']],
    ['a negative RAM multiplier stacks', { RAM: -1 }, ['a', 'c', 'b']],
    ['IoOps prefers quiet hosts', { IoOps: -1 }, ['a', 'c', 'b']],
    ['BuildFailure sinks the failing host below everything', { RAM: 1, BuildFailure: 1_000_000 }, ['b', 'a', 'c']],
  ])('%s', (_what, w, expected) => {
    expect(rank({ config: only(w) })).toEqual(expected);
  });

  it('soft affinity prefers the members’ host; soft anti-affinity avoids it', () => {
    const g = (policy: GroupView['policy']) => group(policy, [['a', 2], ['c', 1]]);
    expect(rank({ config: only({ ServerGroupSoftAffinity: 1 }), group: g('soft-affinity') })).toEqual(['a', 'c', 'b']);
    expect(rank({ config: only({ ServerGroupSoftAntiAffinity: 1 }), group: g('soft-anti-affinity') })).toEqual(['b', 'c', 'a']);
  });

  it('an aggregate overrides a multiplier per host (ram_weight_multiplier)', () => {
    const hs = [hosts[0]!, { ...hosts[1]!, aggregates: [agg({ ram_weight_multiplier: '0' })] }, hosts[2]!];
    expect(rank({ config: only({ RAM: 1 }) }, hs)).toEqual(['c', 'a', 'b']);
  });

  it('CPU and Disk weigh free vCPUs and disk when enabled', () => {
    const hs = [host({ id: 'a', name: 'a', usedVcpus: 10, usedDiskGb: 0 }), host({ id: 'b', name: 'b', usedVcpus: 0, usedDiskGb: 50 })];
    expect(rank({ config: only({ CPU: 1 }) }, hs)).toEqual(['b', 'a']);
    expect(rank({ config: only({ Disk: 1 }) }, hs)).toEqual(['a', 'b']);
  });

  it('NumInstances, negative, spreads by count', () => {
    const hs = [host({ id: 'a', name: 'a', numInstances: 5 }), host({ id: 'b', name: 'b', numInstances: 1 })];
    expect(rank({ config: only({ NumInstances: -1 }) }, hs)).toEqual(['b', 'a']);
  });
});

describe('claim order', () => {
  const ranked = ['a', 'b', 'c', 'd'].map((n, i) => ({ host: host({ id: n, name: n }), weight: 4 - i }));
  it('takes the best with a subset of 1, the rest as alternates', () => {
    expect(claimOrder(ranked, 1).map((r) => r.host.name)).toEqual(['a', 'b', 'c', 'd']);
  });
  it('picks at random among the best N, keeping the others as alternates in order', () => {
    expect(claimOrder(ranked, 3, () => 0.7).map((r) => r.host.name)).toEqual(['c', 'a', 'b', 'd']);
    const firsts = new Set(Array.from({ length: 200 }, () => claimOrder(ranked, 2)[0]!.host.name));
    expect(firsts).toEqual(new Set(['a', 'b']));
  });
  it('picks at random among every host tied for the best weight, even with a subset of 1', () => {
    const alike = ['a', 'b', 'c', 'd'].map((n, i) => ({ host: host({ id: n, name: n }), weight: i < 3 ? 1 : 0 }));
    expect(claimOrder(alike, 1, () => 0.5).map((r) => r.host.name)).toEqual(['b', 'a', 'c', 'd']);
    const firsts = new Set(Array.from({ length: 200 }, () => claimOrder(alike, 1)[0]!.host.name));
    expect(firsts).toEqual(new Set(['a', 'b', 'c']));
  });
});

describe('the summary of a refusal', () => {
  it('names each filter that emptied the list, with the best a capacity filter saw', () => {
    const hosts = [
      host({ id: 'a', name: 'a', usedMemoryMb: 4096 }),
      host({ id: 'b', name: 'b', usedMemoryMb: 5000 }),
      host({ id: 'c', name: 'c', enabled: false }),
    ];
    const r = req({ memoryMb: 4096 });
    const { rejected, ranked } = schedule(r, hosts, enabledFilters(defaultSchedulerConfig), allWeighers);
    expect(ranked).toEqual([]);
    expect(summariseRejections(r, hosts.length, rejected)).toBe(
      '3 hosts: 2 rejected by RAM: lack RAM (need 4096 MiB, best has 2048); 1 rejected by Compute: disabled',
    );
  });
  it('counts mixed Compute states', () => {
    const hosts = [host({ name: 'a', enabled: false }), host({ name: 'b', forcedDown: true }), host({ name: 'c', up: false })];
    const r = req();
    const { rejected } = schedule(r, hosts, enabledFilters(defaultSchedulerConfig), allWeighers);
    expect(summariseRejections(r, 3, rejected)).toBe('3 hosts: 3 rejected by Compute: 1 disabled, 1 forced down, 1 down');
  });
});
