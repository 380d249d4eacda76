import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { OrreryClient } from '../client/graphql.ts';
import type { HostNetwork } from '../core/host-network.ts';
import type { ConsoleSession } from './console/sessions.ts';
import type { HostInfo, PowerState } from './drivers/driver.ts';
import { AGENT_OPERATIONS } from './api-operations.ts';
import type { AssignmentChange } from './assignment-changes.ts';

/** An image a host downloads, verified against its checksum. */
export interface ImageToFetch {
  id: string;
  diskFormat: 'qcow2' | 'raw';
  checksum: string | null;
}

/** The agent's view of one instance, as the control plane's `agentAssignments` gives it. */
export interface AssignedInstance {
  id: string;
  name: string;
  generation: number;
  observedGeneration: number;
  deleted: boolean;
  powerState: 'running' | 'stopped' | 'paused' | 'suspended';
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  image: { id: string; diskFormat: 'qcow2' | 'raw'; checksum: string | null; properties: { key: string; value: string }[] };
  userData: string | null;
  metadata: { key: string; value: string }[];
  projectId: string;
  availabilityZone: string | null;
  keyPair: { name: string; publicKey: string } | null;
  configDrive: boolean;
  operation: {
    id: string;
    kind: string;
    hard: boolean;
    imageId: string | null;
    image: ImageToFetch | null;
    /** Where a live migration sends the guest. */
    migration: { uri: string; prepared: { key: string; value: string }[] } | null;
  } | null;
  completedOperationId: string | null;
  /** The request id of the action under way on it, for the agent's log. */
  requestId: string | null;
}

export interface Assignments {
  hostId: string;
  hostName: string;
  epoch: number;
  enabled: boolean;
  orphanPolicy: 'remove' | 'keep';
  fenced: string[];
  held: string[];
  /** Live migrations this host receives and must prepare for. */
  incoming: { migrationId: string; instanceId: string; diskGb: number }[];
  revision: string;
  instances: AssignedInstance[];
  /** What this host's network plumbing must be. */
  networks: HostNetwork[];
}

export interface InstanceReport {
  id: string;
  observedGeneration: number;
  powerState: PowerState;
  fault?: { code: string; message: string; details?: string } | null;
  completedOperation?: string;
  /** MACs of the NICs the domain has (none: no domain); a port is ACTIVE while its MAC is here. */
  interfaces?: string[];
  /** NICs the agent failed to hot-plug or unplug, and why (it tries again on its next pass). */
  interfaceFaults?: InterfaceFault[];
}

export interface InterfaceFault {
  mac: string;
  message: string;
}

function inventoryInput(info: HostInfo) {
  return {
    hypervisorType: info.hypervisorType,
    hypervisorVersion: info.hypervisorVersion,
    architecture: info.architecture,
    cpuModel: info.cpuModel,
    cpuFeatures: info.cpuFeatures,
    vcpus: info.vcpus,
    memoryMb: info.memoryMb,
    diskGb: info.diskGb,
    migrationUri: info.migrationUri,
    tunnelAddress: info.tunnelAddress,
  };
}

/** The agent API, and nothing else: agents never touch the database (Nova's "no DB on compute"). */
export class AgentApi {
  readonly client: OrreryClient;

  /** `keepAliveMs`: how often the agent's socket pings when it has nothing else to send (its lease, server/agent-sockets.ts). */
  constructor(readonly baseUrl: string, token: string, keepAliveMs?: number) {
    this.client = new OrreryClient(baseUrl, token, { keepAliveMs });
  }

  async enroll(name: string, info: HostInfo): Promise<{ hostId: string; token: string; epoch: number }> {
    const d = await this.client.request(
      AGENT_OPERATIONS.enroll,
      { name, inv: inventoryInput(info) },
    );
    const r = d.enrollHost;
    if (r.__typename !== 'EnrollHostSuccess') throw new Error(`enrollment refused: ${r.message}`);
    this.client.setToken(r.enrollment.token);
    return r.enrollment;
  }

  /** Operations after enrollment share the agent's one socket with its watch (see OrreryClient.requestOverSocket). */
  private op<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    return this.client.requestOverSocket<T>(query, variables);
  }

  /** Whether a saved credential still stands: over HTTP, where a refusal is an answer rather than a closed socket. */
  async checkCredential(): Promise<void> {
    await this.client.request(AGENT_OPERATIONS.heartbeat);
  }

  async reportHost(info: HostInfo): Promise<{ epoch: number; enabled: boolean }> {
    const d = await this.op(
      AGENT_OPERATIONS.reportHost,
      { inv: inventoryInput(info) },
    );
    if (d.reportHost.__typename !== 'ReportHostSuccess') throw new Error(d.reportHost.message);
    return d.reportHost.heartbeat;
  }

  /** The previous release's lease renewal; a connected agent's socket renews its lease now. */
  async heartbeat(): Promise<{ epoch: number; enabled: boolean }> {
    const d = await this.op(AGENT_OPERATIONS.heartbeat);
    return d.heartbeat;
  }

  /** The full view, then what changed in it (hostagent/assignment-changes.ts applies them). */
  watch(): AsyncIterableIterator<{ agentAssignmentChanges: AssignmentChange }> {
    return this.client.subscribe(AGENT_OPERATIONS.watch);
  }

  /** Console sessions waiting for this host: now, then on every change. */
  watchConsoles(): AsyncIterableIterator<ConsoleSession[]> {
    // Mapped by hand, not with an async generator: its return() would wait for the next push.
    const it = this.client.subscribe<{ agentConsoleSessions: ConsoleSession[] }>(
      AGENT_OPERATIONS.watchConsoles,
    );
    const out: AsyncIterableIterator<ConsoleSession[]> = {
      [Symbol.asyncIterator]: () => out,
      next: async () => {
        const r = await it.next();
        return r.done ? { done: true, value: undefined } : { done: false, value: r.value.agentConsoleSessions };
      },
      return: async () => {
        await it.return?.();
        return { done: true, value: undefined };
      },
    };
    return out;
  }

  async reportInstances(reports: InstanceReport[]): Promise<{ accepted: string[]; rejected: string[] }> {
    const d = await this.op(
      AGENT_OPERATIONS.reportInstances,
      { r: reports },
    );
    if (d.reportInstances.__typename !== 'ReportInstancesSuccess') throw new Error(d.reportInstances.message);
    return d.reportInstances.result;
  }

  /** Ready for an incoming live migration (with what the source needs), or why not; false when no longer wanted. */
  async reportMigrationPrepared(migrationId: string, result: { prepared: Record<string, string> } | { failure: string }): Promise<boolean> {
    const prepared = 'prepared' in result ? Object.entries(result.prepared).map(([key, value]) => ({ key, value })) : null;
    const d = await this.op(
      AGENT_OPERATIONS.reportMigrationPrepared,
      { m: migrationId, p: prepared, f: 'failure' in result ? result.failure : null },
    );
    return d.reportMigrationPrepared;
  }

  /** The tail of each guest's serial console, for `consoleOutput`. */
  async reportConsoles(consoles: { id: string; output: string }[]): Promise<void> {
    await this.op(AGENT_OPERATIONS.reportConsoles, { c: consoles });
  }

  /** Domains carrying Orrery's metadata that are not bound to this host, and what was done with them. */
  async reportOrphans(orphans: { id: string; powerState: PowerState; action: 'removed' | 'kept' }[]): Promise<void> {
    await this.op(AGENT_OPERATIONS.reportOrphans, { o: orphans });
  }

  /** Sends a snapshot's bytes as the file of image `imageId` (the API checks this host is snapshotting into it). */
  async uploadImage(imageId: string, file: string): Promise<void> {
    const { size } = await stat(file);
    const res = await fetch(`${this.baseUrl}/images/${encodeURIComponent(imageId)}/file`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.client.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    if (!res.ok) throw new Error(`snapshot upload to image ${imageId} failed: HTTP ${res.status} ${await res.text().catch(() => '')}`);
  }

  /** Streams an image file from the control plane; the image cache verifies its checksum. */
  async downloadImage(imageId: string): Promise<ReadableStream<Uint8Array>> {
    const res = await fetch(`${this.baseUrl}/images/${encodeURIComponent(imageId)}/file`, {
      headers: { authorization: `Bearer ${this.client.token}` },
    });
    if (!res.ok || !res.body) throw new Error(`image ${imageId} download failed: HTTP ${res.status} ${await res.text().catch(() => '')}`);
    return res.body;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
