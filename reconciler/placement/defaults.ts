import { availabilityZoneFilter } from './filters/availability-zone.ts';
import { computeFilter } from './filters/compute.ts';
import { coreFilter } from './filters/core.ts';
import { diskFilter } from './filters/disk.ts';
import { ramFilter } from './filters/ram.ts';
import { retryFilter } from './filters/retry.ts';
import type { Filter, Weigher } from './types.ts';
import { ramWeigher } from './weighers/ram.ts';

export const defaultFilters: Filter[] = [
  computeFilter,
  availabilityZoneFilter,
  retryFilter,
  ramFilter,
  diskFilter,
  coreFilter,
];

export const defaultWeighers: Weigher[] = [ramWeigher];
