import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../core/log.ts';
import type { Check } from '../core/ops-http.ts';
import { GraphqlRequestError } from '../client/graphql.ts';
import { Batcher } from '../core/batcher.ts';
import { AgentApi, type AssignedInstance, type Assignments, type ImageToFetch, type InstanceReport } from './api.ts';
import { applyAssignmentChange, type AssignmentChange } from './assignment-changes.ts';
import { ConsoleReporter } from './console-reporter.ts';
import { ConsoleSessions } from './console/sessions.ts';
import { converge } from './converge.ts';
import { loggedSteps } from './step-log.ts';
import { configDriveFiles } from '../core/metadata/tree.ts';
import { IncomingMigrations } from './incoming.ts';
import { MetadataService } from './metadata/service.ts';
import { metadataSource } from './metadata/source.ts';
import { NetworkSync, type NetworkPlumbing } from './network/sync.ts';
import { OrphanHandler } from './orphans.ts';
import { agentErrors, convergeDuration, passDuration, timedDriver } from './metrics.ts';
import type { DomainStatus, HostInfo, HypervisorDriver } from './drivers/driver.ts';

export interface HostAgentOptions {
  apiUrl: string;
  name: string;
  driver: HypervisorDriver;
  log: Log;
  /** Where the host credential is kept between restarts. */
  stateDir: string;
  /** Needed only for the first start (or after the credential was revoked). */
  enrollmentToken?: string;
  /** How often its socket pings the API when it has nothing else to send: the traffic that keeps its lease. */
  heartbeatSeconds?: number;
  /** Full resync period: the safety net under the watch stream; inventory is re-read then too. */
  resyncSeconds?: number;
  /** How often console tails are pushed while guests run. */
  consoleSeconds?: number;
  stopTimeoutMs?: number;
  imagePath?: (image: ImageToFetch, api: AgentApi) => Promise<string | null>;
  /** Drops cached base images no instance here uses any more. */
  pruneImages?: (inUse: string[]) => Promise<unknown>;
  /** The host's bridges, tunnels, DHCP and filters; none (the fake driver): guests get no plumbing. */
  networking?: NetworkPlumbing;
  /** This host's VXLAN endpoint, reported with the inventory: other hosts' tunnels reach it there. */
  tunnelAddress?: string;
  /** Nova's force_config_drive: every guest built here gets a config drive, asked for or not. */
  forceConfigDrive?: boolean;
  /** Where this host's metadata service listens for the service namespaces' proxies (unset: none). */
  metadataSocket?: string;
}

/** How long start() waits for the watch's first view: as long as a read over the socket would. */
const FIRST_VIEW_MS = 30_000;

interface Credential {
  hostId: string;
  token: string;
}

/** The credential saved in `file`, or null when there is none (or it cannot be read). */
function savedCredential(file: string): Credential | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Credential;
  } catch {
    return null;
  }
}

/**
 * The per-host reconciler: list, then watch what the control plane binds to this host; make the
 * hypervisor match; report what it observes. Each instance converges on its own, one step at a
 * time, so a slow boot never holds up a stop elsewhere.
 */
export class HostAgent {
  private api!: AgentApi;
  private hostId = '';
  private assignments: Assignments | null = null;
  private readonly busy = new Set<string>();
  /** Instances whose assignment changed while they were busy: they get another pass when done. */
  private readonly dirty = new Set<string>();
  /**
   * Operations carried out here (and how they ended) whose completion the watched view does not
   * show yet: never carried out twice, and reported again until the control plane has it.
   */
  private readonly doneOperations = new Map<string, InstanceReport['fault']>();
  /**
   * The generation applied here per instance, reported or not yet echoed back in the view: the
   * control plane does not push a view just to echo an agent's own report.
   */
  private readonly applied = new Map<string, number>();
  private readonly lastReport = new Map<string, string>();
  /**
   * Instances whose last converge found nothing to do and whose report went through, with what
   * that converge saw: a pass that sees the same again (the same assignment object, which a watch
   * push replaces only when something in it changed; the same domain; the same NICs) skips them.
   */
  private readonly settled = new Map<string, { inst: AssignedInstance; seen: string }>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private passQueued = false;
  private passRunning: Promise<void> | null = null;
  private unlistenDriver?: () => void;
  private watchIterator?: AsyncIterableIterator<{ agentAssignmentChanges: AssignmentChange }>;
  /** Ends start()'s wait for the watch's first view (set only while start() waits). */
  private synced?: () => void;
  /** Set by a resync ending the watch on purpose: the next one starts at once. */
  private resubscribe = false;
  private readonly orphans: OrphanHandler;
  private readonly incoming: IncomingMigrations;
  private readonly consoles: ConsoleReporter;
  private readonly network: NetworkSync;
  private consoleSessions?: ConsoleSessions;
  private metadata?: MetadataService;
  private reportedInventory = '';
  /** Reports of instances converging at once travel together: one call instead of one each. */
  private readonly reports = new Batcher<InstanceReport, void>(
    async (rs) => {
      await this.api.reportInstances(rs);
      return rs.map(() => undefined);
    },
    { lingerMs: 5, maxBatch: 200, maxInFlight: 1 },
  );

  private readonly o: HostAgentOptions;

  constructor(options: HostAgentOptions) {
    const o = { ...options, driver: timedDriver(options.driver) };
    this.o = o;
    this.orphans = new OrphanHandler(o.driver, o.log);
    this.incoming = new IncomingMigrations(o.driver, o.log);
    this.consoles = new ConsoleReporter(o.driver, o.log);
    this.network = new NetworkSync(o.networking ?? null, o.log, () => this.kick());
  }

  get id(): string {
    return this.hostId;
  }

  /**
   * Kubernetes' readiness of this agent: enrolled, and its socket to the control plane connected
   * and answering (its keep-alive pings get pongs; an API that cannot record the lease closes it).
   */
  readinessChecks(): Record<string, Check> {
    return {
      enrolled: async () => (this.hostId && this.assignments ? null : 'not enrolled and synchronised yet'),
      'control-plane': async () => this.controlPlaneFailure(),
    };
  }

  private controlPlaneFailure(): string | null {
    const socket = this.api?.client.socketHealth;
    if (!socket?.connected) return `control plane unreachable: socket ${socket?.closed ?? 'not connected yet'}`;
    // A ping goes out a heartbeat after the last pong: two more without an answer is silence.
    const silentMs = Date.now() - (socket.heardAt ?? 0);
    if (silentMs > 3 * this.heartbeatMs) return `control plane unreachable: nothing over its socket for ${Math.round(silentMs / 1000)} s`;
    return null;
  }

  private get heartbeatMs(): number {
    return (this.o.heartbeatSeconds ?? 10) * 1000;
  }

  async start(): Promise<void> {
    const info = await this.hostInfo();
    await this.authenticate(info);
    await this.api.reportHost(info);
    this.reportedInventory = JSON.stringify(info);
    this.o.log.info({ host: this.o.name, hostId: this.hostId }, 'host agent enrolled and reporting');
    this.timers.push(setInterval(() => void this.resync(), (this.o.resyncSeconds ?? 60) * 1000));
    this.timers.push(setInterval(() => void this.pushConsoles(), (this.o.consoleSeconds ?? 2) * 1000));
    this.unlistenDriver = this.o.driver.onChange?.(() => this.kick());
    if (this.o.metadataSocket) {
      this.metadata = new MetadataService(this.o.metadataSocket, () => this.assignments);
      await this.metadata.start();
    }
    this.network.start();
    this.consoleSessions = new ConsoleSessions({
      driver: this.o.driver, log: this.o.log, apiUrl: this.o.apiUrl,
      token: () => this.api.client.token, watch: () => this.api.watchConsoles(),
    });
    this.consoleSessions.start();
    await this.firstView();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.unlistenDriver?.();
    await this.watchIterator?.return?.();
    await this.consoleSessions?.stop();
    await this.passRunning;
    await this.network.stop();
    await this.metadata?.stop();
    await this.api?.close();
  }

  private async hostInfo() {
    return { ...(await this.o.driver.hostInfo()), tunnelAddress: this.o.tunnelAddress ?? null };
  }

  /**
   * Reuses the saved host credential; enrolls (again) when there is none or it was revoked. The
   * credential file is read and written synchronously: a few small calls once per start, where the
   * thread-pool hand-offs of fs/promises cost more CPU than the calls (thousands of hollow hosts).
   */
  private async authenticate(info: HostInfo): Promise<void> {
    const file = path.join(this.o.stateDir, 'host-credential.json');
    const saved = savedCredential(file);
    if (saved) {
      this.api = new AgentApi(this.o.apiUrl, saved.token, this.heartbeatMs);
      try {
        await this.api.checkCredential();
        this.hostId = saved.hostId;
        return;
      } catch (e) {
        if (!(e instanceof GraphqlRequestError) || e.code !== 'UNAUTHENTICATED') throw e;
        await this.api.close();
      }
    }
    if (!this.o.enrollmentToken) throw new Error(`no valid host credential in ${file} and no enrollment token given`);
    this.api = new AgentApi(this.o.apiUrl, this.o.enrollmentToken, this.heartbeatMs);
    const enrolled = await this.api.enroll(this.o.name, info);
    this.hostId = enrolled.hostId;
    mkdirSync(this.o.stateDir, { recursive: true });
    writeFileSync(file, JSON.stringify({ hostId: enrolled.hostId, token: enrolled.token }), { mode: 0o600 });
  }

  private async pushConsoles(): Promise<void> {
    if (this.assignments) await this.consoles.push(this.api, this.assignments);
  }

  /** Inventory is reported at start and whenever it changes (memory added, disk grown). */
  private async refreshInventory(): Promise<void> {
    const info = await this.hostInfo();
    const key = JSON.stringify(info);
    if (key === this.reportedInventory) return;
    await this.api.reportHost(info);
    this.reportedInventory = key;
  }

  /**
   * At start: the watch, whose first delivery is the full view, so the agent is synchronised when
   * start() returns without reading that view a second time by query. A watch that fails or says
   * nothing within FIRST_VIEW_MS lets start() go on unsynchronised, as a failed read did; the watch
   * keeps trying.
   */
  private async firstView(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.synced = resolve;
      timer = setTimeout(resolve, FIRST_VIEW_MS);
      void this.watch();
    });
    clearTimeout(timer);
    this.synced = undefined;
    if (!this.assignments) {
      agentErrors.inc({ kind: 'resync' });
      this.o.log.warn('no view from the watch yet; starting unsynchronised');
      return;
    }
    try {
      await this.pruneImages(this.assignments);
    } catch (e) {
      agentErrors.inc({ kind: 'resync' });
      this.o.log.warn({ err: (e as Error).message }, 'pruning images failed');
    }
  }

  /**
   * The safety net under the watch: inventory re-read, every report sent again, and the watch
   * started over, which begins with the full view (its pushes carry only what changed).
   */
  private async resync(): Promise<void> {
    try {
      await this.refreshInventory();
      this.lastReport.clear();
      this.settled.clear();
      this.resubscribe = true;
      await this.watchIterator?.return?.();
      if (this.assignments) await this.pruneImages(this.assignments);
    } catch (e) {
      agentErrors.inc({ kind: 'resync' });
      this.o.log.warn({ err: (e as Error).message }, 'resync failed');
    }
  }

  /**
   * Cached images no instance here needs any more go. A domain's disk reads its base image for
   * its whole life, so every image a local domain was built on stays, bound here or not (a source
   * kept for a revert, a guest unshelved from a snapshot the catalogue has since dropped).
   */
  private async pruneImages(view: Assignments): Promise<void> {
    if (!this.o.pruneImages) return;
    const built = (await this.o.driver.list()).map((d) => d.imageId).filter((i): i is string => i !== null);
    await this.o.pruneImages([...view.instances.map((i) => i.image.id), ...built]);
  }

  /**
   * The watch stream: the full desired state, then what changed in it, merged into the view this
   * same stream built; a new stream (reconnect, resync) starts from its own full view again.
   */
  private async watch(): Promise<void> {
    while (!this.stopped) {
      let view: Assignments | null = null;
      try {
        this.watchIterator = this.api.watch();
        for await (const { agentAssignmentChanges } of this.watchIterator) {
          view = applyAssignmentChange(view, agentAssignmentChanges);
          this.assignments = view;
          this.kick();
          this.synced?.();
        }
      } catch (e) {
        if (!this.stopped) {
          agentErrors.inc({ kind: 'watch' });
          this.o.log.warn({ err: (e as Error).message }, 'watch stream ended; resubscribing');
        }
        this.synced?.();
      }
      if (this.resubscribe) this.resubscribe = false;
      else if (!this.stopped) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Schedules one reconcile pass; passes never overlap, and a kick during a pass runs one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.passRunning) {
      this.passQueued = true;
      return;
    }
    const endPass = passDuration.startTimer();
    this.passRunning = this.pass().finally(() => {
      endPass();
      this.passRunning = null;
      if (this.passQueued) {
        this.passQueued = false;
        // Yield to I/O between passes: converges that finish without any (nothing to change) would
        // otherwise chain passes in microtasks forever and starve every other agent in the process.
        setImmediate(() => this.kick());
      }
    });
  }

  private async pass(): Promise<void> {
    const view = this.assignments;
    if (!view) return;
    let domains;
    try {
      domains = new Map((await this.o.driver.list()).map((d) => [d.instanceId, d]));
    } catch (e) {
      agentErrors.inc({ kind: 'list' });
      this.o.log.error({ err: (e as Error).message }, 'cannot list domains');
      return;
    }
    this.network.update(view.networks);
    const bound = new Set(view.instances.map((i) => i.id));
    for (const id of this.applied.keys()) if (!bound.has(id)) this.applied.delete(id);
    for (const id of this.settled.keys()) if (!bound.has(id)) this.settled.delete(id);
    for (const inst of view.instances) {
      // A guest is built or started only on plumbing that is there (a revert or unshelve starts a
      // domain on a host its network may have left); the network sync kicks again when it is.
      const dom = domains.get(inst.id);
      if (!inst.deleted && dom?.powerState !== 'running' && !this.network.instanceReady(inst.id)) continue;
      const settled = this.settled.get(inst.id);
      if (settled?.inst === inst && settled.seen === this.seenKey(inst.id, dom)) continue;
      if (this.busy.has(inst.id)) {
        this.dirty.add(inst.id);
        continue;
      }
      this.busy.add(inst.id);
      this.settled.delete(inst.id);
      void this.convergeOne(inst, dom).finally(() => {
        this.busy.delete(inst.id);
        if (this.dirty.delete(inst.id)) this.kick();
      });
    }
    await this.orphans.handle(this.api, view, domains.values(), this.busy);
    await this.incoming.handle(this.api, view, (id) => this.network.instanceReady(id), new Set(domains.keys()));
  }

  private async convergeOne(assigned: AssignedInstance, dom: Parameters<typeof converge>[2]): Promise<void> {
    const op = assigned.operation?.id;
    if (op && assigned.completedOperationId === op) this.doneOperations.delete(op);
    const observedGeneration = Math.max(assigned.observedGeneration, this.applied.get(assigned.id) ?? 0);
    const inst = {
      ...assigned,
      observedGeneration,
      completedOperationId: op && this.doneOperations.has(op) ? op : assigned.completedOperationId,
    };
    let report: InstanceReport;
    const log = this.o.log.child({ instance: inst.id, ...(inst.requestId ? { requestId: inst.requestId } : {}) });
    const endConverge = convergeDuration.startTimer();
    try {
      report = await converge(
        {
          driver: loggedSteps(this.o.driver, log),
          stopTimeoutMs: this.o.stopTimeoutMs ?? 60_000,
          imagePath: (i) => this.o.imagePath?.(i, this.api) ?? Promise.resolve(null),
          snapshotDir: path.join(this.o.stateDir, 'snapshots'),
          interfaces: (id) => this.network.interfaces(id),
          readyInterfaces: (id) => this.network.readyInterfaces(id),
          configDrive: (i) =>
            i.configDrive || this.o.forceConfigDrive ? configDriveFiles(metadataSource(i, this.assignments?.networks ?? [])) : null,
          upload: (imageId, file) => this.api.uploadImage(imageId, file),
        },
        inst,
        dom,
      );
    } catch (e) {
      endConverge({ result: 'error' });
      agentErrors.inc({ kind: 'converge' });
      log.error({ err: (e as Error).message }, 'converge failed; will retry');
      return;
    }
    endConverge({ result: 'success' });
    if (report.completedOperation) this.doneOperations.set(report.completedOperation, report.fault ?? null);
    // Done here but not recorded there (the report was lost with its API replica, say): say so
    // again, or the step would wait for its deadline and fail as if never carried out.
    else if (op && this.doneOperations.has(op) && !report.fault) report = { ...report, completedOperation: op, fault: this.doneOperations.get(op) ?? null };
    this.applied.set(report.id, report.observedGeneration);
    const delivered = await this.report(report);
    // Nothing was to be done (no generation to apply, no operation, no NIC fault): the same inputs
    // would converge to the same report, so the next passes need not ask again.
    const idle = assigned.generation <= observedGeneration && (!op || op === inst.completedOperationId) && !report.fault && !report.interfaceFaults;
    if (delivered && idle) this.settled.set(assigned.id, { inst: assigned, seen: this.seenKey(assigned.id, dom) });
  }

  /** What a converge of one instance reads besides its assignment: its domain as listed, and its NICs. */
  private seenKey(id: string, dom: DomainStatus | undefined): string {
    const macs = (nics: { mac: string }[]) => nics.map((n) => n.mac).join(',');
    return `${dom ? `${dom.powerState} ${dom.generation} ${dom.macs.join(',')}` : '-'}|${macs(this.network.interfaces(id))}|${macs(this.network.readyInterfaces(id))}`;
  }

  /** Sends a report only when it differs from the last one sent for that instance; false when it could not be sent. */
  private async report(r: InstanceReport): Promise<boolean> {
    const key = JSON.stringify(r);
    if (this.lastReport.get(r.id) === key) return true;
    try {
      await this.reports.add(r);
      this.lastReport.set(r.id, key);
      return true;
    } catch (e) {
      agentErrors.inc({ kind: 'report' });
      this.o.log.warn({ instance: r.id, err: (e as Error).message }, 'report failed; will retry on next pass');
      return false;
    }
  }
}
