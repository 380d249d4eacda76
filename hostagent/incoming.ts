import type { Log } from '../core/log.ts';
import type { AgentApi, Assignments } from './api.ts';
import type { HypervisorDriver } from './drivers/driver.ts';

type Incoming = Assignments['incoming'][number];

/**
 * The destination side of live migrations: prepare once for each incoming guest and say so (or
 * why not); drop what was prepared for a migration that ended without the guest being bound here.
 */
export class IncomingMigrations {
  /** Migrations being prepared (or reported) by this process; a restarted agent prepares again. */
  private readonly started = new Set<string>();
  /** Instances with files prepared here that are not yet bound here. */
  private readonly prepared = new Set<string>();

  constructor(
    private readonly driver: HypervisorDriver,
    private readonly log: Log,
  ) {}

  /** `ready`: whether a guest's network plumbing is here; libvirt refuses a guest whose bridge is not. */
  async handle(api: AgentApi, view: Assignments, ready: (instanceId: string) => boolean): Promise<void> {
    for (const m of view.incoming) {
      if (this.started.has(m.migrationId) || !ready(m.instanceId)) continue;
      this.started.add(m.migrationId);
      this.prepared.add(m.instanceId);
      void this.prepare(api, m);
    }
    // A migration leaves `incoming` once prepared; it never comes back there.
    const listed = new Set(view.incoming.map((m) => m.migrationId));
    for (const id of this.started) if (!listed.has(id)) this.started.delete(id);
    const still = new Set([...view.incoming.map((m) => m.instanceId), ...view.held]);
    const bound = new Set(view.instances.map((i) => i.id));
    for (const id of this.prepared) {
      if (still.has(id)) continue;
      this.prepared.delete(id);
      if (bound.has(id)) continue; // the guest arrived: those files are its disk now
      try {
        await this.driver.destroy(id);
        this.log.info({ instance: id }, 'dropped what was prepared for a live migration that did not happen');
      } catch (e) {
        this.log.error({ instance: id, err: (e as Error).message }, 'could not drop a prepared migration disk');
      }
    }
  }

  private async prepare(api: AgentApi, m: Incoming): Promise<void> {
    let result: { prepared: Record<string, string> } | { failure: string };
    try {
      result = { prepared: await this.driver.prepareIncoming(m.instanceId, m.diskGb) };
    } catch (e) {
      result = { failure: (e as Error).message };
    }
    try {
      await api.reportMigrationPrepared(m.migrationId, result);
    } catch (e) {
      this.log.warn({ migration: m.migrationId, err: (e as Error).message }, 'could not report a prepared migration; will retry');
      this.started.delete(m.migrationId);
    }
  }
}
