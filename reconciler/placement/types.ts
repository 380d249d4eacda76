import type { SchedulerConfig } from './config.ts';

/** One aggregate a host belongs to, with the metadata filters and weighers read. */
export interface HostAggregate {
  name: string;
  metadata: Record<string, string>;
}

/** What one host looks like to the scheduler: capacity already reduced by reserved × effective ratio. */
export interface HostView {
  id: string;
  name: string;
  zone: string | null;
  enabled: boolean;
  disabledReason: string | null;
  forcedDown: boolean;
  /** Heartbeat within the service-down time. */
  up: boolean;
  secondsSinceHeartbeat: number | null;
  capacityVcpus: number;
  usedVcpus: number;
  capacityMemoryMb: number;
  usedMemoryMb: number;
  capacityDiskGb: number;
  usedDiskGb: number;
  /** Effective allocation ratios (aggregate minimum, else host, else default), as the claim trigger uses. */
  ratios: { cpu: number; ram: number; disk: number };
  hypervisorType: string;
  hypervisorVersion: string;
  architecture: string;
  /** What the agent reported (cpu_model, cpu_features, …). */
  capabilities: Record<string, unknown>;
  aggregates: HostAggregate[];
  numInstances: number;
  /** Instances on the host in an I/O-heavy task (building, resizing, snapshotting, …). */
  numIoOps: number;
  /** Builds that failed on this host since its last success. */
  buildFailures: number;
  /** Where other hypervisors reach this one for a live migration; null: it cannot receive one. */
  migrationUri: string | null;
}

/** The server group of the instance being placed, with where its other members already are. */
export interface GroupView {
  id: string;
  name: string;
  policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';
  maxServerPerHost: number;
  /** Host id → members placed there (the instance being placed excluded). */
  membersByHost: Map<string, number>;
}

/** What the instance being placed needs and asks for. */
export interface PlacementRequest {
  projectId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  zone: string | null;
  /** Hosts that already failed to build this instance. */
  failedHostIds: string[];
  /** Hosts a move leaves: never candidates, whatever filters are on. */
  ignoredHostIds: string[];
  extraSpecs: Record<string, string>;
  image: { id: string; name: string; properties: Record<string, string> };
  group: GroupView | null;
  /** Hosts of the instances named by the same_host / different_host hints (null: no hint). */
  sameHostIds: string[] | null;
  differentHostIds: string[] | null;
  /** The `query` hint, parsed (JsonFilter syntax); null when absent. */
  query: unknown;
  /** The scheduler configuration in force (limits, isolated hosts and images, multipliers). */
  config: SchedulerConfig;
  /** An admin's named destination: only that host is considered (the filters still check it). */
  requestedHostId: string | null;
  /** A live migration: the destination must be able to receive one. */
  liveMigration: boolean;
}

/** A filter passes a host (null) or says why not. */
export type Filter = {
  name: string;
  check(req: PlacementRequest, host: HostView): string | null;
  /** One phrase for the fault over all hosts it rejected, e.g. "lack RAM (need 4096 MiB, best has 2048)". */
  summarise?(req: PlacementRequest, rejected: HostView[]): string;
};

export type Weigher = {
  name: string;
  /** Aggregate metadata key that overrides the multiplier per host (smallest value wins, as in Nova). */
  multiplierKey: string;
  /** Raw weight; the scheduler normalises across candidates to 0..1 before the multiplier. */
  weigh(req: PlacementRequest, host: HostView): number;
};
