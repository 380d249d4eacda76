import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
} from '../driver.ts';
import type { Duplex } from 'node:stream';
import { openDomainConsole } from './console.ts';
import { copyDisk, dropBackup, ensureOverlay, growDisk, keepBackup, restoreBackup } from './disk.ts';
import {
  buildDomainXml,
  interfaceXml,
  rescueDomainXml,
  resizedDomainXml,
  withInterface,
  withoutInterface,
  type VirtType,
} from './domain-xml.ts';
import { writeConfigDrive } from './config-drive.ts';
import { migrationXml } from './migration-xml.ts';
import { DomainEventStream } from './events.ts';
import {
  interfaceElements,
  parseCapabilities,
  parseDomainXml,
  parseDomstats,
  parseHypervisorVersion,
  parseLines,
  parseMemTotalKib,
  parseNodeinfo,
  splitDomainXmls,
  type RawState,
} from './parse.ts';
import { DomainState, powerStateOf } from './power-state.ts';
import { detectVirtType } from './virt-type.ts';
import { Virsh, VirshError } from './virsh.ts';

export interface LibvirtDriverOptions {
  /** libvirt connection URI; default qemu:///system. */
  uri?: string;
  /** Where each instance gets a folder: its disk, console log and domain XML. */
  instancesDir: string;
  /** As Nova's virt_type; detected from /dev/kvm and the CPU flags when not given. */
  virtType?: VirtType;
  /** Held back for the host itself; subtracted from what hostInfo reports. */
  reserved?: { vcpus?: number; memoryMb?: number; diskGb?: number };
  /** How often state is polled while waiting for a guest to shut down. */
  pollIntervalMs?: number;
  /**
   * The URI other hosts' libvirt daemons reach this one at for a live migration (e.g.
   * qemu+tcp://10.0.0.5/system); unset, this host receives no live migrations.
   */
  migrationUri?: string;
  /**
   * As Nova's live_migration_completion_timeout and live_migration_bandwidth: a live migration
   * still copying after `timeoutSeconds` is aborted by this host (the guest stays here), so it ends
   * well before the control plane's deadline (ORRERY_SPAWN_TIMEOUT_SECONDS, which must be longer);
   * `bandwidthMiBs` caps its transfer rate (unset: no cap).
   */
  liveMigration?: { timeoutSeconds?: number; bandwidthMiBs?: number };
}

/** The live-migration completion timeout when none is given: well inside the control plane's default 600 s. */
const LIVE_MIGRATION_TIMEOUT_SECONDS = 480;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Guests may miss an ACPI event sent while they boot, so a graceful stop sends it again. */
const ACPI_RESEND_MS = 5_000;

interface Observed {
  raw: RawState;
  managedSave: boolean;
  power: PowerState;
  active: boolean;
}

export class LibvirtDriver implements HypervisorDriver {
  readonly name = 'libvirt';
  readonly virsh: Virsh;
  private readonly instancesDir: string;
  private readonly pollMs: number;
  private virtType: VirtType | undefined;
  private readonly listeners = new Set<(instanceId: string) => void>();
  private events: DomainEventStream | null = null;

  constructor(private readonly options: LibvirtDriverOptions) {
    this.virsh = new Virsh(options.uri ?? 'qemu:///system');
    this.instancesDir = path.resolve(options.instancesDir);
    this.virtType = options.virtType;
    this.pollMs = options.pollIntervalMs ?? 200;
  }

  async hostInfo(): Promise<HostInfo> {
    await mkdir(this.instancesDir, { recursive: true });
    const [nodeinfo, caps, version, fs] = await Promise.all([
      this.virsh.run(['nodeinfo']).then(parseNodeinfo),
      this.virsh.run(['capabilities']).then(parseCapabilities),
      this.virsh.run(['version']).then(parseHypervisorVersion),
      statfs(this.instancesDir),
    ]);
    // nodeinfo under-reports memory on some hosts (lazily reported NUMA memory); the kernel's
    // own count is the cross-check, valid only when the daemon runs on this machine.
    let memoryKib = nodeinfo.memoryKib;
    if (this.isLocal()) {
      memoryKib = Math.max(memoryKib, parseMemTotalKib(await readFile('/proc/meminfo', 'utf8')));
    }
    const reserved = this.options.reserved ?? {};
    return {
      hypervisorType: version.type,
      hypervisorVersion: version.version,
      architecture: caps.arch,
      cpuModel: caps.model,
      cpuFeatures: caps.features,
      vcpus: nodeinfo.cpus - (reserved.vcpus ?? 0),
      memoryMb: Math.floor(memoryKib / 1024) - (reserved.memoryMb ?? 0),
      diskGb: Math.floor((fs.blocks * fs.bsize) / 1024 ** 3) - (reserved.diskGb ?? 0),
      migrationUri: this.options.migrationUri ?? null,
      // The lead wires the agent option that sets it.
      tunnelAddress: null,
    };
  }

  /**
   * Every domain of the daemon, Orrery's or not (so the agent can see orphans and strangers),
   * in a fixed number of virsh calls whatever the number of domains.
   */
  async list(): Promise<DomainStatus[]> {
    const [stats, uuids, saved] = await Promise.all([
      this.virsh.run(['domstats', '--state']).then(parseDomstats),
      this.virsh.run(['list', '--all', '--uuid']).then(parseLines),
      this.virsh.run(['list', '--all', '--with-managed-save', '--uuid']).then((o) => new Set(parseLines(o))),
    ]);
    if (uuids.length === 0) return [];
    const xmls = splitDomainXmls(await this.virsh.batch(uuids.map((u) => ['dumpxml', u])));
    const result: DomainStatus[] = [];
    for (const xml of xmls) {
      const dom = parseDomainXml(xml);
      const raw = stats.get(dom.name);
      if (!raw) continue; // defined after domstats ran; the next list sees it
      result.push({
        instanceId: dom.uuid,
        powerState: powerStateOf(raw, saved.has(dom.uuid)),
        generation: dom.generation,
        imageId: dom.imageId,
        managed: dom.managed,
        macs: dom.macs,
      });
    }
    return result;
  }

  async create(spec: DomainSpec): Promise<void> {
    const id = checkId(spec.instanceId);
    const dir = this.instanceDir(id);
    await mkdir(dir, { recursive: true });
    await ensureOverlay({
      path: path.join(dir, 'disk'),
      backingPath: spec.imagePath,
      backingFormat: spec.imageFormat,
      sizeGb: spec.diskGb,
    });
    let dom = await this.observe(id);
    if (!dom) {
      const xmlPath = path.join(dir, 'domain.xml');
      const files = {
        diskPath: path.join(dir, 'disk'),
        consoleLogPath: path.join(dir, 'console.log'),
        guestAgentSocketPath: path.join(dir, 'guest-agent.sock'),
        configDrivePath: this.configDrivePath(id),
      };
      if (spec.configDrive) await writeConfigDrive(spec.configDrive, files.configDrivePath);
      await writeFile(xmlPath, buildDomainXml(spec, files, await this.resolveVirtType()));
      await this.virsh.run(['define', xmlPath]);
      dom = await this.mustObserve(id);
    }
    if (!dom.active) await this.virsh.run(['start', id]);
  }

  /** A suspended domain's saved memory is discarded: stopped means a fresh boot on start. */
  async stop(instanceId: string, timeoutMs: number): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (!dom.active) {
      if (dom.managedSave) await this.virsh.run(['managedsave-remove', id]);
      return;
    }
    // Only a guest that is running can act on ACPI (or is already shutting down on its own).
    const canAct = dom.raw.state === DomainState.running || dom.raw.state === DomainState.shuttingDown;
    if (canAct && (await this.shutdownGracefully(id, timeoutMs))) return;
    await this.forceOff(id);
  }

  async refreshConfigDrive(instanceId: string, files: Map<string, Buffer>): Promise<void> {
    const id = checkId(instanceId);
    if (!(await this.hasConfigDrive(id)) || (await this.mustObserve(id)).active) return;
    await writeConfigDrive(files, this.configDrivePath(id));
  }

  async start(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (!dom.active) await this.virsh.run(['start', id]);
  }

  /**
   * Soft: ACPI shutdown, then start, as Nova does: an outcome one can observe (the domain went
   * off), unlike an in-place ACPI reboot. A guest that is not running or ignores ACPI within the
   * timeout gets the hard one: power off (dropping any saved memory) and boot.
   */
  async reboot(instanceId: string, kind: 'soft' | 'hard', timeoutMs: number): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (kind === 'soft' && dom.raw.state === DomainState.running) {
      if (await this.shutdownGracefully(id, timeoutMs)) {
        await this.virsh.run(['start', id]);
        return;
      }
    }
    await this.forceOff(id);
    if ((await this.mustObserve(id)).managedSave) await this.virsh.run(['managedsave-remove', id]);
    await this.virsh.run(['start', id]);
  }

  async pause(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (dom.power === 'paused') return;
    if (dom.power !== 'running') throw invalidState(id, 'pause', dom.power);
    await this.virsh.run(['suspend', id]);
  }

  async unpause(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (dom.power === 'running') return;
    if (dom.power !== 'paused') throw invalidState(id, 'unpause', dom.power);
    await this.virsh.run(['resume', id]);
  }

  /**
   * qemu-img reads the overlay and its backing chain into one standalone qcow2 (-U: the running
   * QEMU holds the image lock). The guest's vCPUs are paused meanwhile so the copy is consistent.
   */
  async snapshot(instanceId: string, destPath: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    const pauseFirst = dom.power === 'running';
    if (pauseFirst) await this.virsh.run(['suspend', id]);
    try {
      await copyDisk(path.join(this.instanceDir(id), 'disk'), destPath);
    } finally {
      if (pauseFirst) await this.virsh.run(['resume', id]);
    }
  }

  async rescue(instanceId: string, rescueImagePath: string | null, rescueImageFormat: 'qcow2' | 'raw'): Promise<void> {
    const id = checkId(instanceId);
    if (!rescueImagePath) throw new DriverError('rescue needs a rescue image file', 'invalid_spec');
    const dir = this.instanceDir(id);
    const dom = await this.mustObserve(id);
    if (dom.active) await this.virsh.run(['destroy', id]);
    const rescueDisk = path.join(dir, 'disk.rescue');
    await ensureOverlay({ path: rescueDisk, backingPath: rescueImagePath, backingFormat: rescueImageFormat, sizeGb: 0 });
    const rescueXml = path.join(dir, 'domain.rescue.xml');
    await writeFile(rescueXml, rescueDomainXml(await readFile(path.join(dir, 'domain.xml'), 'utf8'), rescueDisk));
    await this.virsh.run(['define', rescueXml]);
    await this.virsh.run(['start', id]);
  }

  async unrescue(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dir = this.instanceDir(id);
    const dom = await this.mustObserve(id);
    if (dom.active) await this.virsh.run(['destroy', id]);
    await this.virsh.run(['define', path.join(dir, 'domain.xml')]);
    await this.virsh.run(['start', id]);
    await rm(path.join(dir, 'disk.rescue'), { force: true });
    await rm(path.join(dir, 'domain.rescue.xml'), { force: true });
  }

  /**
   * Backup first, then the disk grown, then the domain redefined: a repeat after a crash at any
   * point finds the backup (never overwritten by the grown disk) and redoes only what is left.
   */
  async resizeInPlace(instanceId: string, size: DomainSize, start: boolean): Promise<void> {
    const id = await this.mustBeOff(instanceId, 'resize');
    const disk = path.join(this.instanceDir(id), 'disk');
    await keepBackup(disk, this.resizeBackupPath(id));
    await growDisk(disk, size.diskGb);
    await this.redefineSize(id, size);
    if (start) await this.start(id);
  }

  async revertResizeInPlace(instanceId: string, size: DomainSize, start: boolean): Promise<void> {
    const id = await this.mustBeOff(instanceId, 'revert the resize of');
    await restoreBackup(this.resizeBackupPath(id), path.join(this.instanceDir(id), 'disk'));
    await this.redefineSize(id, size);
    if (start) await this.start(id);
  }

  async confirmResizeInPlace(instanceId: string): Promise<void> {
    await dropBackup(this.resizeBackupPath(checkId(instanceId)));
  }

  async suspend(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (dom.power === 'suspended') return;
    if (dom.power !== 'running' && dom.power !== 'paused') throw invalidState(id, 'suspend', dom.power);
    // --running: resume means running, even for a domain that was paused when saved.
    await this.virsh.run(['managedsave', id, '--running']);
  }

  async resume(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (dom.power === 'running') return;
    if (dom.power !== 'suspended') throw invalidState(id, 'resume', dom.power);
    await this.virsh.run(['start', id]);
  }

  async destroy(instanceId: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.observe(id);
    if (dom) {
      if (dom.active) await this.forceOff(id);
      await ignoreNoDomain(
        this.virsh.run(['undefine', id, '--managed-save', '--snapshots-metadata', '--checkpoints-metadata', '--nvram']),
      );
    }
    await rm(this.instanceDir(id), { recursive: true, force: true });
  }

  /**
   * A blank disk of the flavor's size: the source copies the whole disk into it (block migration;
   * instance storage is local to each host), so this host needs none of the guest's images.
   */
  async prepareIncoming(instanceId: string, diskGb: number): Promise<Record<string, string>> {
    const dir = this.instanceDir(checkId(instanceId));
    await mkdir(dir, { recursive: true });
    await ensureOverlay({ path: path.join(dir, 'disk'), backingPath: null, backingFormat: 'qcow2', sizeGb: diskGb });
    return { instanceDir: dir };
  }

  async instanceFiles(): Promise<string[]> {
    const names = await readdir(this.instancesDir).catch(() => [] as string[]);
    return names.filter((n) => UUID_RE.test(n));
  }

  /**
   * Peer to peer: this daemon drives the migration with the destination's, memory and disk
   * (`--copy-storage-all`) while the guest runs; the domain is defined there and undefined here
   * only when it succeeded, so a guest gone from here was handed over.
   */
  async liveMigrate(instanceId: string, target: MigrationTarget): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.observe(id);
    if (!dom) return;
    if (dom.power !== 'running' && dom.power !== 'paused') throw invalidState(id, 'live-migrate', dom.power);
    const destDir = target.prepared.instanceDir;
    if (!destDir) throw new DriverError('the destination did not say where the guest files go', 'migration_failed');
    const here = this.instanceDir(id);
    // libvirt copies writable disks only: the destination would lack the config drive's ISO.
    if (await this.hasConfigDrive(id)) {
      throw new DriverError('a guest with a config drive cannot be live-migrated yet: cold-migrate it (its drive is rebuilt there)', 'migration_failed');
    }
    const xmlPath = path.join(here, 'migrate.xml');
    await writeFile(xmlPath, migrationXml(await this.virsh.run(['dumpxml', '--migratable', id]), here, destDir));
    const { timeoutSeconds = LIVE_MIGRATION_TIMEOUT_SECONDS, bandwidthMiBs } = this.options.liveMigration ?? {};
    const bandwidth = bandwidthMiBs ? ['--bandwidth', String(bandwidthMiBs)] : [];
    // The job is the daemon's: ending the virsh client would not stop it, aborting the job does.
    let aborted = false;
    const abort = setTimeout(() => {
      aborted = true;
      void this.virsh.run(['domjobabort', id]).catch(() => {});
    }, timeoutSeconds * 1000);
    try {
      await this.virsh.run(['migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--copy-storage-all', ...bandwidth,
        '--xml', xmlPath, id, target.uri], (timeoutSeconds + 60) * 1000);
    } catch (e) {
      if (!(e instanceof VirshError)) throw e;
      if (aborted) {
        throw new DriverError(`live migration to ${target.uri} did not finish within ${timeoutSeconds} s and was aborted; the guest still runs here`,
          'migration_timeout', e.stderr);
      }
      throw new DriverError(`live migration to ${target.uri} failed`, 'migration_failed', e.stderr);
    } finally {
      clearTimeout(abort);
    }
    await rm(here, { recursive: true, force: true });
  }

  /**
   * attach-device --live (a running or paused guest) --config (its definition), each only where
   * the MAC is missing: libvirt would add a second NIC with the same MAC. The kept domain.xml
   * follows, so a rescue or resize that redefines from it keeps the NIC.
   */
  async attachInterface(instanceId: string, nic: DomainInterface): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    const found = await this.findInterface(id, dom, nic.mac);
    const flags = [...(dom.active && !found.live ? ['--live'] : []), ...(!found.config ? ['--config'] : [])];
    if (flags.length > 0) {
      // A suspended guest's saved memory would no longer match its definition.
      if (dom.managedSave) throw invalidState(id, 'attach an interface to', dom.power);
      await this.withDeviceFile(id, interfaceXml(nic), (file) => this.virsh.run(['attach-device', id, file, ...flags]));
    }
    await this.editKeptXml(id, (xml) => withInterface(xml, nic));
  }

  /**
   * detach-device --live --config, each where the MAC is: libvirt finds the NIC by its MAC but
   * wants the whole element, so it is the domain's own. A guest releases a live NIC when it
   * acknowledges the unplug; until then it is still listed, and the next call asks again.
   */
  async detachInterface(instanceId: string, mac: string): Promise<void> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    const found = await this.findInterface(id, dom, mac);
    const element = found.live ?? found.config;
    if (element) {
      if (dom.managedSave) throw invalidState(id, 'detach an interface from', dom.power);
      const flags = [...(found.live ? ['--live'] : []), ...(found.config ? ['--config'] : [])];
      await this.withDeviceFile(id, element, (file) => this.virsh.run(['detach-device', id, file, ...flags]));
    }
    await this.editKeptXml(id, (xml) => withoutInterface(xml, mac));
  }

  async consoleOutput(instanceId: string, lines: number): Promise<string> {
    const file = path.join(this.instanceDir(checkId(instanceId)), 'console.log');
    // virtlogd rotates the log at 2 MiB, so reading it whole stays cheap.
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const all = text.replace(/\r\n?/g, '\n').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  }

  async openConsole(instanceId: string, kind: 'vnc' | 'serial'): Promise<Duplex> {
    // The live XML: the VNC port and the pty exist only while the domain runs.
    const xml = await this.virsh.run(['dumpxml', checkId(instanceId)]).catch((e: unknown) => {
      if (e instanceof VirshError && e.noDomain) throw new DriverError(`domain ${instanceId} does not exist`, 'not_found');
      throw e;
    });
    return openDomainConsole(xml, instanceId, kind);
  }

  /**
   * Domains are named by their instance id, so an event's domain name is the id (others are not
   * ours). Whenever the event stream (re)connects, every domain is reported, since events of the
   * gap are lost.
   */
  onChange(listener: (instanceId: string) => void): () => void {
    this.listeners.add(listener);
    if (!this.events) {
      const notify = (name: string) => {
        if (!UUID_RE.test(name)) return;
        for (const l of this.listeners) l(name.toLowerCase());
      };
      this.events = new DomainEventStream(this.virsh.uri, notify, () => {
        this.virsh.run(['list', '--all', '--name']).then(
          (out) => parseLines(out).forEach(notify),
          () => {}, // the daemon went away again; the next connection tries again
        );
      });
      this.events.start();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stopEvents();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.stopEvents();
  }

  private async stopEvents(): Promise<void> {
    const events = this.events;
    this.events = null;
    await events?.stop();
  }

  /** Sends ACPI power-off (again every few seconds) until the domain is off or time runs out. */
  private async shutdownGracefully(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let nextSend = 0;
    while (Date.now() < deadline) {
      if (Date.now() >= nextSend) {
        await ignoreNotRunning(this.virsh.run(['shutdown', id, '--mode', 'acpi']));
        nextSend = Date.now() + ACPI_RESEND_MS;
      }
      await sleep(this.pollMs);
      if (!(await this.mustObserve(id)).active) return true;
    }
    return false;
  }

  private async forceOff(id: string): Promise<void> {
    await ignoreNotRunning(this.virsh.run(['destroy', id]));
  }

  /** The domain's state, or null when no such domain is defined. */
  private async observe(id: string): Promise<Observed | null> {
    let raw: RawState | undefined;
    try {
      raw = parseDomstats(await this.virsh.run(['domstats', '--state', id])).values().next().value;
    } catch (e) {
      if (e instanceof VirshError && e.noDomain) return null;
      throw e;
    }
    if (!raw) return null;
    const active = raw.state !== DomainState.shutoff;
    // Only a shut-off domain can hold a managed-save image; skip the second call otherwise.
    const managedSave =
      !active && parseLines(await this.virsh.run(['list', '--all', '--with-managed-save', '--uuid'])).includes(id);
    return { raw, managedSave, active, power: powerStateOf(raw, managedSave) };
  }

  private async mustObserve(id: string): Promise<Observed> {
    const dom = await this.observe(id);
    if (!dom) throw new DriverError(`no domain for instance ${id}`, 'not_found');
    return dom;
  }

  private async resolveVirtType(): Promise<VirtType> {
    this.virtType ??= await detectVirtType();
    return this.virtType;
  }

  /** The domain's disk and definition change only while it is shut off. */
  private async mustBeOff(instanceId: string, what: string): Promise<string> {
    const id = checkId(instanceId);
    const dom = await this.mustObserve(id);
    if (dom.active) throw invalidState(id, what, dom.power);
    return id;
  }

  /** The kept domain.xml (unrescue and rescue read it too) and the libvirt definition, with the new size. */
  private async redefineSize(id: string, size: DomainSize): Promise<void> {
    const xmlPath = path.join(this.instanceDir(id), 'domain.xml');
    const tmp = `${xmlPath}.tmp`;
    await writeFile(tmp, resizedDomainXml(await readFile(xmlPath, 'utf8'), size));
    await rename(tmp, xmlPath);
    await this.virsh.run(['define', xmlPath]);
  }

  /** The NIC's element in the running guest (null when it is off or has none) and in the definition. */
  private async findInterface(id: string, dom: Observed, mac: string): Promise<{ live: string | null; config: string | null }> {
    const find = (xml: string) => interfaceElements(xml).find((i) => i.mac === mac.toLowerCase())?.xml ?? null;
    const [live, config] = await Promise.all([
      dom.active ? this.virsh.run(['dumpxml', id]).then(find) : null,
      this.virsh.run(['dumpxml', '--inactive', id]).then(find),
    ]);
    return { live, config };
  }

  /** virsh takes a device as a file: one in the instance's folder, for the length of the call. */
  private async withDeviceFile(id: string, xml: string, use: (file: string) => Promise<unknown>): Promise<void> {
    const file = path.join(this.instanceDir(id), 'device.xml');
    await writeFile(file, xml);
    try {
      await use(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Rewrites the kept domain.xml (when there is one: a guest that migrated in has none). */
  private async editKeptXml(id: string, edit: (xml: string) => string): Promise<void> {
    const xmlPath = path.join(this.instanceDir(id), 'domain.xml');
    const xml = await readFile(xmlPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (xml === null) return;
    const edited = edit(xml);
    if (edited === xml) return;
    await writeFile(`${xmlPath}.tmp`, edited);
    await rename(`${xmlPath}.tmp`, xmlPath);
  }

  private resizeBackupPath(id: string): string {
    return path.join(this.instanceDir(id), 'disk.resize-backup');
  }

  private configDrivePath(id: string): string {
    return path.join(this.instanceDir(id), 'disk.config');
  }

  private hasConfigDrive(id: string): Promise<boolean> {
    return stat(this.configDrivePath(id)).then(() => true, () => false);
  }

  private instanceDir(id: string): string {
    return path.join(this.instancesDir, id);
  }

  /** The daemon runs on this machine (no host in the URI), so /proc describes its host. */
  private isLocal(): boolean {
    return new URL(this.virsh.uri).hostname === '';
  }
}

function checkId(id: string): string {
  if (!UUID_RE.test(id)) throw new DriverError(`instance id is not a UUID: ${id}`, 'invalid_spec');
  return id.toLowerCase();
}

function invalidState(id: string, op: string, power: PowerState): DriverError {
  return new DriverError(`cannot ${op} instance ${id}: it is ${power}`, 'invalid_state');
}

/** A domain that stopped between our look and our command is what we wanted anyway. */
async function ignoreNotRunning(p: Promise<unknown>): Promise<void> {
  await p.catch((e: unknown) => {
    if (e instanceof VirshError && /domain is not running/i.test(e.stderr)) return;
    throw e;
  });
}

async function ignoreNoDomain(p: Promise<unknown>): Promise<void> {
  await p.catch((e: unknown) => {
    if (e instanceof VirshError && e.noDomain) return;
    throw e;
  });
}
