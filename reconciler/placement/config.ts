import type { FilterName, SchedulerConfigSpec, WeigherName } from '../../schema/documents/scheduler-config.ts';

/** The configuration in force, every field resolved. */
export interface SchedulerConfig {
  version: number;
  filters: FilterName[];
  weighers: Record<WeigherName, number>;
  /** Choose at random among the best N hosts, so concurrent placements spread their claims. */
  hostSubsetSize: number;
  /** How many hosts the coarse SQL filter hands to the in-process filters. */
  candidateLimit: number;
  maxInstancesPerHost: number;
  maxIoOpsPerHost: number;
  isolatedHosts: string[];
  isolatedImages: string[];
  restrictIsolatedHostsToIsolatedImages: boolean;
}

/**
 * Nova's defaults (filter_scheduler options), plus the capacity filters Nova moved into
 * Placement: here they run both in SQL (coarse) and in process (to explain). One deviation: the
 * CPU and Disk weighers start at 0, so free RAM alone ranks hosts, as the coarse SQL orders them.
 */
export const defaultSchedulerConfig: SchedulerConfig = {
  version: 0,
  filters: [
    'Compute', 'AvailabilityZone', 'Retry', 'RAM', 'Disk', 'Core', 'ComputeCapabilities', 'ImageProperties',
    'ServerGroupAntiAffinity', 'ServerGroupAffinity', 'SameHost', 'DifferentHost',
  ],
  weighers: {
    RAM: 1,
    CPU: 0,
    Disk: 0,
    IoOps: -1,
    NumInstances: 0,
    ServerGroupSoftAffinity: 1,
    ServerGroupSoftAntiAffinity: 1,
    BuildFailure: 1_000_000,
  },
  hostSubsetSize: 1,
  candidateLimit: 50,
  maxInstancesPerHost: 50,
  maxIoOpsPerHost: 8,
  isolatedHosts: [],
  isolatedImages: [],
  restrictIsolatedHostsToIsolatedImages: true,
};

export function resolveSchedulerConfig(version: number, spec: SchedulerConfigSpec): SchedulerConfig {
  const d = defaultSchedulerConfig;
  return {
    version,
    filters: spec.filters ? [...spec.filters] : d.filters,
    weighers: { ...d.weighers, ...spec.weighers },
    hostSubsetSize: spec.hostSubsetSize ?? d.hostSubsetSize,
    candidateLimit: spec.candidateLimit ?? d.candidateLimit,
    maxInstancesPerHost: spec.maxInstancesPerHost ?? d.maxInstancesPerHost,
    maxIoOpsPerHost: spec.maxIoOpsPerHost ?? d.maxIoOpsPerHost,
    isolatedHosts: spec.isolatedHosts ? [...spec.isolatedHosts] : d.isolatedHosts,
    isolatedImages: spec.isolatedImages ? [...spec.isolatedImages] : d.isolatedImages,
    restrictIsolatedHostsToIsolatedImages: spec.restrictIsolatedHostsToIsolatedImages ?? d.restrictIsolatedHostsToIsolatedImages,
  };
}
