/** What one host looks like to the scheduler: capacity already reduced by reserved x ratio. */
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
}

/** What the instance being placed needs. */
export interface PlacementRequest {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  zone: string | null;
  /** Hosts that already failed to build this instance. */
  failedHostIds: string[];
}

/** A filter passes a host (null) or says why not. */
export type Filter = {
  name: string;
  check(req: PlacementRequest, host: HostView): string | null;
};

export type Weigher = {
  name: string;
  multiplier: number;
  /** Raw weight; the scheduler normalises across candidates to 0..1 before the multiplier. */
  weigh(req: PlacementRequest, host: HostView): number;
};
