import type { Duplex } from 'node:stream';

/**
 * What the host agent needs from a hypervisor. Every method is idempotent: calling it for a
 * domain already in the wanted state succeeds and changes nothing, so the agent can repeat any
 * step after a crash. Domains are named by the instance UUID (the libvirt domain UUID equals it).
 */

export type PowerState = 'running' | 'paused' | 'shutdown' | 'crashed' | 'suspended' | 'nostate';

export interface HostInfo {
  hypervisorType: string;
  hypervisorVersion: string;
  architecture: string;
  cpuModel: string;
  cpuFeatures: string[];
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  /** Where other hosts' hypervisors reach this one for a live migration; null when it cannot receive one. */
  migrationUri: string | null;
  /** Where other hosts' VXLAN tunnels reach this one; null when it carries no overlay. */
  tunnelAddress: string | null;
}

/** Where a live migration goes: the destination's migration URI and what its driver prepared. */
export interface MigrationTarget {
  uri: string;
  prepared: Record<string, string>;
}

/** Everything a driver needs to define a domain; built by the agent from the instance and its flavor and image. */
export interface DomainSpec {
  instanceId: string;
  name: string;
  generation: number;
  /** The catalogue image the disk is built from; a different one means a rebuild. */
  imageId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  /** Local path of the cached, checksum-verified image (libvirt: the overlay's backing file). */
  imagePath: string | null;
  imageFormat: 'qcow2' | 'raw';
  imageProperties: Record<string, string>;
  userData: string | null;
  metadata: Record<string, string>;
  /** The instance's NICs, in order (eth0 first): each a tap the hypervisor creates on a bridge. */
  interfaces: DomainInterface[];
  /** Nova's config drive: these files (path → bytes) on a read-only CD-ROM labelled config-2; null: none. */
  configDrive: Map<string, Buffer> | null;
}

/** One NIC: its port's MAC and tap name are fixed, so the guest keeps them across rebuilds and moves. */
export interface DomainInterface {
  mac: string;
  bridge: string;
  tap: string;
  mtu: number;
}

/** What a flavor gives a domain. */
export interface DomainSize {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

export interface DomainStatus {
  instanceId: string;
  powerState: PowerState;
  /** The generation written into the domain's metadata when it was defined (0 when unknown). */
  generation: number;
  /** The image the domain's disk was built on (from its metadata; null when unknown): keeps it in the cache. */
  imageId: string | null;
  /** True when the domain carries Orrery's metadata element (so it is ours, possibly an orphan). */
  managed: boolean;
  /** The MACs of its NICs as the hypervisor has them now (a running guest's live ones), lower case. */
  macs: string[];
}

export interface HypervisorDriver {
  readonly name: string;
  hostInfo(): Promise<HostInfo>;
  list(): Promise<DomainStatus[]>;
  /** Defines the domain (and its disk) if missing and starts it; a running domain is left alone. */
  create(spec: DomainSpec): Promise<void>;
  /** Graceful shutdown; after `timeoutMs` the domain is destroyed. */
  stop(instanceId: string, timeoutMs: number): Promise<void>;
  start(instanceId: string): Promise<void>;
  /** Writes these files over the config drive of a domain that has one and is off; else does nothing. */
  refreshConfigDrive(instanceId: string, files: Map<string, Buffer>): Promise<void>;
  reboot(instanceId: string, kind: 'soft' | 'hard', timeoutMs: number): Promise<void>;
  pause(instanceId: string): Promise<void>;
  unpause(instanceId: string): Promise<void>;
  /** Saves memory to disk and stops (libvirt managed save). */
  suspend(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  /** Destroys and undefines the domain and removes its files; a missing domain is success. */
  destroy(instanceId: string): Promise<void>;
  /**
   * Writes a standalone copy of the instance's disk (no backing file) to `destPath` as qcow2,
   * consistent: a running guest is paused for the copy and resumed after.
   */
  snapshot(instanceId: string, destPath: string): Promise<void>;
  /** Boots the domain from a fresh disk on the rescue image, its own disk attached second. */
  rescue(instanceId: string, rescueImagePath: string | null, rescueImageFormat: 'qcow2' | 'raw'): Promise<void>;
  /** Boots the domain from its own disk again and drops the rescue disk. */
  unrescue(instanceId: string): Promise<void>;
  /**
   * Readies this host for an incoming live migration: a blank disk of the flavor's size that the
   * source copies the guest's disk into. Returns what the source's driver needs to know of it.
   */
  prepareIncoming(instanceId: string, diskGb: number): Promise<Record<string, string>>;
  /** Instances that have files on this host: a domain's, or a disk prepared for a live migration. */
  instanceFiles(): Promise<string[]>;
  /**
   * Moves the running (or paused) guest, memory and disk, to the destination without stopping it;
   * the domain and its files are gone from here after. A domain already gone from here was moved.
   */
  liveMigrate(instanceId: string, target: MigrationTarget): Promise<void>;
  /**
   * A resize that stays on this host. The domain must be off (the agent stops it first). Keeps a
   * backup of its disk (taken once: a repeat after a crash finds it), gives it the new vCPUs and
   * RAM, grows its disk to the new size (never shrinks it) and starts it when `start`.
   */
  resizeInPlace(instanceId: string, size: DomainSize, start: boolean): Promise<void>;
  /**
   * Undoes resizeInPlace: the disk from its backup (already done when no backup is left), the
   * given (old) vCPUs and RAM; starts the domain when `start`. The domain must be off.
   */
  revertResizeInPlace(instanceId: string, size: DomainSize, start: boolean): Promise<void>;
  /** Keeps the resize: drops the disk backup (none left is success). */
  confirmResizeInPlace(instanceId: string): Promise<void>;
  /**
   * Hot-plugs the NIC into the running guest and into the domain's definition, so it stays after
   * a restart (a domain that is off gets it at its next boot). A NIC with that MAC there is success.
   */
  attachInterface(instanceId: string, nic: DomainInterface): Promise<void>;
  /** Unplugs the NIC with that MAC from the running guest and from the definition; none there is success. */
  detachInterface(instanceId: string, mac: string): Promise<void>;
  /** The last `lines` lines of the serial console. */
  consoleOutput(instanceId: string, lines: number): Promise<string>;
  /**
   * The running guest's console, opened on this host: its VNC server's socket (RFB bytes) or its
   * serial port (read and write). Closing the stream closes it; the guest is not touched.
   */
  openConsole(instanceId: string, kind: 'vnc' | 'serial'): Promise<Duplex>;
  /** Lifecycle events, so the agent does not wait for its next poll; optional. */
  onChange?(listener: (instanceId: string) => void): () => void;
  close(): Promise<void>;
}

/** A driver error the agent reports as the instance's fault rather than retrying forever. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details?: string,
  ) {
    super(message);
  }
}
