import { describe, expect, it } from 'vitest';
import { availabilityZoneFilter } from '../reconciler/placement/filters/availability-zone.ts';
import { computeFilter } from '../reconciler/placement/filters/compute.ts';
import { coreFilter } from '../reconciler/placement/filters/core.ts';
import { diskFilter } from '../reconciler/placement/filters/disk.ts';
import { ramFilter } from '../reconciler/placement/filters/ram.ts';
import { retryFilter } from '../reconciler/placement/filters/retry.ts';
import { defaultSchedulerConfig } from '../reconciler/placement/config.ts';
import { allWeighers, enabledFilters } from '../reconciler/placement/registry.ts';
import { schedule, summariseRejections } from '../reconciler/placement/schedule.ts';
import type { Filter, HostView, PlacementRequest } from '../reconciler/placement/types.ts';

import { hostView as host, placementReq as req } from './support/placement-views.ts';

const defaultFilters = enabledFilters(defaultSchedulerConfig);

describe.each<[Filter, [string, Partial<PlacementRequest>, Partial<HostView>, string | null][]]>([
  [computeFilter, [
    ['an up, enabled host', {}, {}, null],
    ['a disabled host', {}, { enabled: false, disabledReason: 'maintenance' }, 'disabled (maintenance)'],
    ['a forced-down host', {}, { forcedDown: true }, 'forced down'],
    ['a host whose heartbeat expired', {}, { up: false, secondsSinceHeartbeat: 95 }, 'agent down (last heartbeat 95 s ago)'],
    ['a host that never reported', {}, { up: false, secondsSinceHeartbeat: null }, 'agent never reported'],
  ]],
  [availabilityZoneFilter, [
    ['no zone requested', {}, { zone: null }, null],
    ['the requested zone', { zone: 'az1' }, {}, null],
    ['another zone', { zone: 'az2' }, {}, 'in zone az1, not az2'],
  ]],
  [ramFilter, [
    ['exactly enough RAM', { memoryMb: 6144 }, {}, null],
    ['RAM used up to the ratio', {}, { usedMemoryMb: 5000 }, 'lacks RAM (need 2048 MiB, free 1144 MiB at ratio 1.5)'],
  ]],
  [diskFilter, [
    ['enough disk', {}, {}, null],
    ['too little disk', { diskGb: 101 }, {}, 'lacks disk (need 101 GiB, free 100 GiB at ratio 1)'],
  ]],
  [coreFilter, [
    ['enough vCPUs', {}, { usedVcpus: 62 }, null],
    ['too few vCPUs', {}, { usedVcpus: 63 }, 'lacks vCPUs (need 2, free 1 at ratio 16)'],
  ]],
  [retryFilter, [
    ['a fresh host', { failedHostIds: ['other'] }, {}, null],
    ['a host that failed this build', { failedHostIds: ['h1'] }, {}, 'already failed to build this instance'],
  ]],
])('$name filter', (filter, cases) => {
  it.each(cases)('%s', (_what, r, h, reason) => {
    expect(filter.check(req(r), host(h))).toBe(reason);
  });
});

describe('schedule', () => {
  it('ranks by free RAM and reports each rejection with the first filter that said no', () => {
    const hosts = [
      host({ id: 'a', name: 'a', usedMemoryMb: 3000 }),
      host({ id: 'b', name: 'b', usedMemoryMb: 0 }),
      host({ id: 'c', name: 'c', enabled: false, usedMemoryMb: 6144 }),
      host({ id: 'd', name: 'd', usedMemoryMb: 6000 }),
    ];
    const { ranked, rejected } = schedule(req(), hosts, defaultFilters, allWeighers);
    expect(ranked.map((r) => r.host.name)).toEqual(['b', 'a']);
    expect(rejected.map((r) => [r.host.name, r.filter.name, r.reason])).toEqual([
      ['c', 'Compute', 'disabled'],
      ['d', 'RAM', 'lacks RAM (need 2048 MiB, free 144 MiB at ratio 1.5)'],
    ]);
    expect(summariseRejections(req(), 4, rejected)).toBe('4 hosts: 1 rejected by Compute: disabled; 1 rejected by RAM: lack RAM (need 2048 MiB, best has 144)');
  });

  it('says so when no host is enrolled', () => {
    expect(summariseRejections(req(), 0, [])).toBe('no hosts are enrolled');
  });
});
