import { defaultSchedulerConfig } from '../../reconciler/placement/config.ts';
import type { HostView, PlacementRequest } from '../../reconciler/placement/types.ts';

/** A healthy, empty host with round numbers; tests override what they look at. */
export const hostView = (over: Partial<HostView> = {}): HostView => ({
  id: 'h1', name: 'h1', zone: 'az1', enabled: true, disabledReason: null, forcedDown: false, up: true,
  secondsSinceHeartbeat: 1, capacityVcpus: 64, usedVcpus: 0, capacityMemoryMb: 6144, usedMemoryMb: 0,
  capacityDiskGb: 100, usedDiskGb: 0, ratios: { cpu: 16, ram: 1.5, disk: 1 }, hypervisorType: 'QEMU',
  hypervisorVersion: '8.2.0', architecture: 'x86_64', capabilities: { cpu_model: 'Haswell', cpu_features: ['avx2', 'aes'] },
  aggregates: [], numInstances: 0, numIoOps: 0, buildFailures: 0, migrationUri: null, ...over,
});

/** A plain request under the default configuration. */
export const placementReq = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  projectId: 'p1', vcpus: 2, memoryMb: 2048, diskGb: 20, zone: null, failedHostIds: [], ignoredHostIds: [], extraSpecs: {},
  image: { id: 'img1', name: 'cirros', properties: {} }, group: null, sameHostIds: null, differentHostIds: null,
  query: null, config: defaultSchedulerConfig, requestedHostId: null, liveMigration: false, ...over,
});
