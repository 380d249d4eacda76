import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { FakeRfbServer, fakeSerial } from './fake-console.ts';
import {
  DriverError,
  type DomainInterface,
  type DomainSize,
  type DomainSpec,
  type DomainStatus,
  type HostInfo,
  type HypervisorDriver,
  type MigrationTarget,
  type PowerState,
} from './driver.ts';

export interface FakeDriverOptions {
  vcpus?: number;
  memoryMb?: number;
  diskGb?: number;
  /** Milliseconds each lifecycle call takes, so ordering bugs show as they would on a real host. */
  delayMs?: number;
  /** Make `create` fail for instances whose name matches, to exercise rescheduling. */
  failCreate?: RegExp;
  /** This hypervisor's address for live migrations (default: a fresh fake:// URI). */
  migrationUri?: string;
  /** Make `resizeInPlace` fail half-way (backup taken, disk grown) for instances whose name matches. */
  failResize?: RegExp;
  /** Make `attachInterface` fail for instances whose name matches, as a hot-plug the guest has no slot for. */
  failAttach?: RegExp;
  /** Make `openConsole` fail for instances whose name matches, as a host whose console device is gone. */
  failConsole?: RegExp;
}

/** Fake hypervisors of this process by migration URI: a live migration hands a domain between them. */
const reachable = new Map<string, FakeDriver>();

interface FakeDomain {
  name: string;
  powerState: PowerState;
  /** Booted from a rescue disk. */
  rescued?: boolean;
  generation: number;
  imageId: string;
  /** What the domain was defined (or last resized) with. */
  size: DomainSize;
  /** The disk as it was before a resize in place, kept until it is confirmed or reverted. */
  resizeBackup?: { diskGb: number };
  interfaces: DomainInterface[];
  /** The config drive's files as the domain was defined with them (null: none). */
  configDrive: Map<string, Buffer> | null;
  console: string[];
}

/**
 * An in-memory hypervisor with realistic state rules (you cannot pause a stopped domain, a
 * suspended one resumes to running, …). For scale tests and fast unit tests only: the real path
 * is the libvirt driver.
 */
export class FakeDriver implements HypervisorDriver {
  readonly name = 'fake';
  readonly domains = new Map<string, FakeDomain>();
  /** Disks prepared for incoming live migrations (files without a domain, until the guest arrives). */
  private readonly prepared = new Set<string>();
  private readonly listeners = new Set<(id: string) => void>();
  readonly migrationUri: string;
  /** Every console opened here, in order: which host a session reached. */
  readonly consolesOpened: { id: string; kind: 'vnc' | 'serial' }[] = [];

  constructor(private readonly o: FakeDriverOptions = {}) {
    this.migrationUri = o.migrationUri ?? `fake://${randomUUID()}`;
    reachable.set(this.migrationUri, this);
  }

  private async step(): Promise<void> {
    const ms = this.o.delayMs ?? 5;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private get(id: string): FakeDomain {
    const d = this.domains.get(id);
    if (!d) throw new DriverError(`domain ${id} does not exist`, 'not_found');
    return d;
  }

  private set(id: string, d: FakeDomain, state: PowerState): void {
    d.powerState = state;
    d.console.push(`[fake] ${state}`);
    for (const l of this.listeners) l(id);
  }

  async hostInfo(): Promise<HostInfo> {
    return {
      hypervisorType: 'fake',
      hypervisorVersion: '1.0',
      architecture: 'x86_64',
      cpuModel: 'fake-cpu',
      cpuFeatures: ['sse4_2', 'avx2'],
      vcpus: this.o.vcpus ?? 16,
      memoryMb: this.o.memoryMb ?? 65536,
      diskGb: this.o.diskGb ?? 1000,
      migrationUri: this.migrationUri,
      tunnelAddress: null,
    };
  }

  async list(): Promise<DomainStatus[]> {
    return [...this.domains.entries()].map(([instanceId, d]) => ({
      instanceId,
      powerState: d.powerState,
      generation: d.generation,
      imageId: d.imageId,
      managed: true,
      macs: d.interfaces.map((n) => n.mac),
    }));
  }

  async create(spec: DomainSpec): Promise<void> {
    await this.step();
    if (this.o.failCreate?.test(spec.name)) throw new DriverError(`fake driver refuses to build ${spec.name}`, 'spawn_failed');
    const d = this.domains.get(spec.instanceId);
    if (d) {
      d.generation = spec.generation;
      if (d.powerState === 'running') return;
      return this.set(spec.instanceId, d, 'running');
    }
    const fresh: FakeDomain = {
      name: spec.name,
      powerState: 'nostate',
      generation: spec.generation,
      imageId: spec.imageId,
      size: { vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb },
      interfaces: [...spec.interfaces],
      configDrive: spec.configDrive,
      console: [`[fake] boot ${spec.name}`],
    };
    this.domains.set(spec.instanceId, fresh);
    this.set(spec.instanceId, fresh, 'running');
  }

  async stop(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState !== 'shutdown') this.set(id, d, 'shutdown');
  }

  async refreshConfigDrive(id: string, files: Map<string, Buffer>): Promise<void> {
    const d = this.get(id);
    if (d.configDrive && d.powerState !== 'running') d.configDrive = files;
  }

  async start(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState === 'running') return;
    if (d.powerState === 'paused') throw new DriverError('domain is paused; unpause it', 'invalid_state');
    this.set(id, d, 'running');
  }

  /** Soft needs a running guest; hard boots it from whatever state it is in, as a reset does. */
  async reboot(id: string, kind: 'soft' | 'hard'): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (kind === 'soft' && d.powerState !== 'running') throw new DriverError(`cannot soft-reboot a ${d.powerState} domain`, 'invalid_state');
    d.console.push('[fake] reboot');
    this.set(id, d, 'running');
  }

  async pause(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState === 'paused') return;
    if (d.powerState !== 'running') throw new DriverError(`cannot pause a ${d.powerState} domain`, 'invalid_state');
    this.set(id, d, 'paused');
  }

  async unpause(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState === 'running') return;
    if (d.powerState !== 'paused') throw new DriverError(`cannot unpause a ${d.powerState} domain`, 'invalid_state');
    this.set(id, d, 'running');
  }

  async suspend(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState === 'suspended') return;
    if (d.powerState !== 'running' && d.powerState !== 'paused') {
      throw new DriverError(`cannot suspend a ${d.powerState} domain`, 'invalid_state');
    }
    this.set(id, d, 'suspended');
  }

  async resume(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState === 'running') return;
    if (d.powerState !== 'suspended') throw new DriverError(`cannot resume a ${d.powerState} domain`, 'invalid_state');
    this.set(id, d, 'running');
  }

  async destroy(id: string): Promise<void> {
    await this.step();
    this.domains.delete(id);
    this.prepared.delete(id);
    for (const l of this.listeners) l(id);
  }

  async rescue(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    d.rescued = true;
    this.set(id, d, 'running');
  }

  async unrescue(id: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    d.rescued = false;
    this.set(id, d, 'running');
  }

  async resizeInPlace(id: string, size: DomainSize, start: boolean): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState !== 'shutdown' && d.powerState !== 'crashed') throw new DriverError(`cannot resize a ${d.powerState} domain`, 'invalid_state');
    d.resizeBackup ??= { diskGb: d.size.diskGb };
    d.size = { ...d.size, diskGb: Math.max(d.size.diskGb, size.diskGb) };
    if (this.o.failResize?.test(d.name)) throw new DriverError(`fake driver fails to resize ${d.name}`, 'resize_failed');
    d.size = { ...d.size, vcpus: size.vcpus, memoryMb: size.memoryMb };
    d.console.push(`[fake] resized to ${size.vcpus} vCPU, ${size.memoryMb} MiB`);
    if (start) this.set(id, d, 'running');
  }

  async revertResizeInPlace(id: string, size: DomainSize, start: boolean): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.powerState !== 'shutdown' && d.powerState !== 'crashed') throw new DriverError(`cannot revert a ${d.powerState} domain`, 'invalid_state');
    const diskGb = d.resizeBackup?.diskGb ?? d.size.diskGb;
    delete d.resizeBackup;
    d.size = { vcpus: size.vcpus, memoryMb: size.memoryMb, diskGb };
    d.console.push(`[fake] reverted to ${size.vcpus} vCPU, ${size.memoryMb} MiB`);
    if (start) this.set(id, d, 'running');
  }

  async confirmResizeInPlace(id: string): Promise<void> {
    await this.step();
    delete this.get(id).resizeBackup;
  }

  /** A small file that stands for the disk: enough for the snapshot's upload and checksum path. */
  async snapshot(id: string, destPath: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    await writeFile(destPath, JSON.stringify({ fakeDisk: id, image: d.imageId, generation: d.generation }));
  }

  async prepareIncoming(id: string): Promise<Record<string, string>> {
    await this.step();
    this.prepared.add(id);
    return {};
  }

  async instanceFiles(): Promise<string[]> {
    return [...new Set([...this.domains.keys(), ...this.prepared])];
  }

  async liveMigrate(id: string, target: MigrationTarget): Promise<void> {
    await this.step();
    const d = this.domains.get(id);
    if (!d) return;
    if (d.powerState !== 'running' && d.powerState !== 'paused') {
      throw new DriverError(`cannot live-migrate a ${d.powerState} domain`, 'invalid_state');
    }
    const dest = reachable.get(target.uri);
    if (!dest || dest === this) throw new DriverError(`no fake hypervisor at ${target.uri} in this process`, 'migration_failed');
    dest.domains.set(id, { ...d, interfaces: [...d.interfaces], console: [...d.console, '[fake] migrated in'] });
    dest.prepared.delete(id);
    this.domains.delete(id);
    for (const l of this.listeners) l(id);
    for (const l of dest.listeners) l(id);
  }

  /** As libvirt: a suspended domain's saved memory would not match a changed definition. */
  async attachInterface(id: string, nic: DomainInterface): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (d.interfaces.some((n) => n.mac === nic.mac)) return;
    if (d.powerState === 'suspended') throw new DriverError('cannot attach an interface to a suspended domain', 'invalid_state');
    if (this.o.failAttach?.test(d.name)) throw new DriverError(`fake driver has no free slot for a NIC on ${d.name}`, 'attach_failed');
    d.interfaces.push({ ...nic });
    d.console.push(`[fake] interface ${nic.mac} attached`);
    for (const l of this.listeners) l(id);
  }

  async detachInterface(id: string, mac: string): Promise<void> {
    await this.step();
    const d = this.get(id);
    if (!d.interfaces.some((n) => n.mac === mac)) return;
    if (d.powerState === 'suspended') throw new DriverError('cannot detach an interface from a suspended domain', 'invalid_state');
    d.interfaces = d.interfaces.filter((n) => n.mac !== mac);
    d.console.push(`[fake] interface ${mac} detached`);
    for (const l of this.listeners) l(id);
  }

  async consoleOutput(id: string, lines: number): Promise<string> {
    return this.get(id).console.slice(-lines).join('\n');
  }

  /** An echoing serial port or a tiny RFB server, for a domain that runs (or is paused). */
  async openConsole(id: string, kind: 'vnc' | 'serial'): Promise<Duplex> {
    const d = this.get(id);
    if (d.powerState !== 'running' && d.powerState !== 'paused') {
      throw new DriverError(`domain ${id} is ${d.powerState}: it has no console`, 'invalid_state');
    }
    if (this.o.failConsole?.test(d.name)) throw new DriverError(`fake driver cannot open the console of ${d.name}`, 'console_failed');
    this.consolesOpened.push({ id, kind });
    return kind === 'vnc' ? new FakeRfbServer() : fakeSerial();
  }

  /** Simulates a guest that shut itself down or crashed, behind Orrery's back. */
  crash(id: string, state: 'shutdown' | 'crashed' = 'crashed'): void {
    this.set(id, this.get(id), state);
  }

  onChange(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    reachable.delete(this.migrationUri);
  }
}
