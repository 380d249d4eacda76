import type { HostNetwork } from '../../core/host-network.ts';
import type { Log } from '../../core/log.ts';
import type { DomainInterface } from '../drivers/driver.ts';
import { nicsByInstance } from './nics.ts';

/** What makes the host's bridges, tunnels, DHCP and filters match a view; idempotent. */
export interface NetworkPlumbing {
  /** Returns the ports whose plumbing is complete: a domain with their taps may start. */
  converge(view: { networks: HostNetwork[] }): Promise<{ ready: Set<string> }>;
}

/**
 * Keeps the host's plumbing converged on the latest view: at once when the networks change, and
 * every `driftSeconds` anyway, so whatever was removed behind the agent's back comes back. A guest
 * is built only once all its ports are ready (libvirt attaches its taps to bridges that must exist).
 */
export class NetworkSync {
  private networks: HostNetwork[] = [];
  private applied = '';
  private ready = new Set<string>();
  private nics = new Map<string, DomainInterface[]>();
  private running: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly plumbing: NetworkPlumbing | null,
    private readonly log: Log,
    /** Called when ports became ready: instances waiting for them can be built now. */
    private readonly onReady: () => void,
    private readonly driftSeconds = 10,
  ) {}

  start(): void {
    if (this.plumbing) this.timer = setInterval(() => this.request(true), this.driftSeconds * 1000);
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return this.running ?? Promise.resolve();
  }

  /** Takes the view's networks; converges when they differ from what was last applied. */
  update(networks: HostNetwork[]): void {
    this.networks = networks;
    this.nics = nicsByInstance(networks);
    if (JSON.stringify(networks) !== this.applied) this.request(false);
  }

  interfaces(instanceId: string): DomainInterface[] {
    return this.nics.get(instanceId) ?? [];
  }

  /** The instance's NICs whose ports' plumbing is complete: those a running guest may be given now. */
  readyInterfaces(instanceId: string): DomainInterface[] {
    const nics = this.interfaces(instanceId);
    if (!this.plumbing) return nics;
    const ready = new Set(this.networks.flatMap((n) => n.ports.filter((p) => p.instanceId === instanceId && this.ready.has(p.id)).map((p) => p.mac)));
    return nics.filter((nic) => ready.has(nic.mac));
  }

  /** Without plumbing (the fake driver) nothing waits. */
  instanceReady(instanceId: string): boolean {
    if (!this.plumbing) return true;
    return this.networks.every((n) => n.ports.every((p) => p.instanceId !== instanceId || this.ready.has(p.id)));
  }

  private request(drift: boolean): void {
    if (!this.plumbing) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run(drift).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.request(false);
      }
    });
  }

  private async run(drift: boolean): Promise<void> {
    const networks = this.networks;
    const key = JSON.stringify(networks);
    if (!drift && key === this.applied) return;
    try {
      const { ready } = await this.plumbing!.converge({ networks });
      const grew = [...ready].some((p) => !this.ready.has(p));
      this.ready = ready;
      this.applied = key;
      if (grew) this.onReady();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'network converge failed; will retry');
      this.applied = '';
    }
  }
}
