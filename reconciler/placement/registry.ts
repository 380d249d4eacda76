import type { FilterName, WeigherName } from '../../schema/documents/scheduler-config.ts';
import type { SchedulerConfig } from './config.ts';
import { aggregateInstanceExtraSpecsFilter } from './filters/aggregate-instance-extra-specs.ts';
import { aggregateMultiTenancyIsolationFilter } from './filters/aggregate-multi-tenancy-isolation.ts';
import { availabilityZoneFilter } from './filters/availability-zone.ts';
import { computeCapabilitiesFilter } from './filters/compute-capabilities.ts';
import { computeFilter } from './filters/compute.ts';
import { coreFilter } from './filters/core.ts';
import { differentHostFilter } from './filters/different-host.ts';
import { diskFilter } from './filters/disk.ts';
import { imagePropertiesFilter } from './filters/image-properties.ts';
import { ioOpsFilter } from './filters/io-ops.ts';
import { isolatedHostsFilter } from './filters/isolated-hosts.ts';
import { jsonFilter } from './filters/json.ts';
import { liveMigrationTargetFilter } from './filters/live-migration-target.ts';
import { numInstancesFilter } from './filters/num-instances.ts';
import { ramFilter } from './filters/ram.ts';
import { requestedDestinationFilter } from './filters/requested-destination.ts';
import { ignoredHostsFilter } from './filters/ignored-hosts.ts';
import { retryFilter } from './filters/retry.ts';
import { sameHostFilter } from './filters/same-host.ts';
import { serverGroupAffinityFilter } from './filters/server-group-affinity.ts';
import { serverGroupAntiAffinityFilter } from './filters/server-group-anti-affinity.ts';
import type { Filter, Weigher } from './types.ts';
import { buildFailureWeigher } from './weighers/build-failure.ts';
import { cpuWeigher } from './weighers/cpu.ts';
import { diskWeigher } from './weighers/disk.ts';
import { ioOpsWeigher } from './weighers/io-ops.ts';
import { numInstancesWeigher } from './weighers/num-instances.ts';
import { ramWeigher } from './weighers/ram.ts';
import { serverGroupSoftAffinityWeigher } from './weighers/server-group-soft-affinity.ts';
import { serverGroupSoftAntiAffinityWeigher } from './weighers/server-group-soft-anti-affinity.ts';

export const filtersByName: Record<FilterName, Filter> = {
  Compute: computeFilter,
  AvailabilityZone: availabilityZoneFilter,
  Retry: retryFilter,
  RAM: ramFilter,
  Disk: diskFilter,
  Core: coreFilter,
  ComputeCapabilities: computeCapabilitiesFilter,
  ImageProperties: imagePropertiesFilter,
  SameHost: sameHostFilter,
  DifferentHost: differentHostFilter,
  ServerGroupAffinity: serverGroupAffinityFilter,
  ServerGroupAntiAffinity: serverGroupAntiAffinityFilter,
  AggregateInstanceExtraSpecs: aggregateInstanceExtraSpecsFilter,
  AggregateMultiTenancyIsolation: aggregateMultiTenancyIsolationFilter,
  IsolatedHosts: isolatedHostsFilter,
  NumInstances: numInstancesFilter,
  IoOps: ioOpsFilter,
  Json: jsonFilter,
};

export const weighersByName: Record<WeigherName, Weigher> = {
  RAM: ramWeigher,
  CPU: cpuWeigher,
  Disk: diskWeigher,
  IoOps: ioOpsWeigher,
  NumInstances: numInstancesWeigher,
  ServerGroupSoftAffinity: serverGroupSoftAffinityWeigher,
  ServerGroupSoftAntiAffinity: serverGroupSoftAntiAffinityWeigher,
  BuildFailure: buildFailureWeigher,
};

export const enabledFilters = (c: SchedulerConfig): Filter[] => c.filters.map((n) => filtersByName[n]);
/** Filters the request itself switches on (a move's source, a named destination, a live migration): never configurable off. */
export const requestFilters: Filter[] = [ignoredHostsFilter, requestedDestinationFilter, liveMigrationTargetFilter];
export const allWeighers: Weigher[] = Object.values(weighersByName);
