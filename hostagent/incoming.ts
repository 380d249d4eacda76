import type { Log } from '../core/log.ts';
import type { AgentApi, Assignments } from './api.ts';
import type { HypervisorDriver } from './drivers/driver.ts';

type Incoming = Assignments['incoming'][number];

/**
 * The destination side of live migrations: prepare once for each incoming guest and say so (or
 * why not); drop the files of any guest that has them here without a domain, being neither
 * incoming, moving, nor bound here: a migration that ended without the guest coming. Read from
 * the host each time, not remembered, so a restarted agent still finds what it prepared before.
 */
export class IncomingMigrations {
  /** Migrations being prepared (or reported) by this process; a restarted agent prepares again. */
  private readonly started = new Set<string>();

  constructor(
    private readonly driver: HypervisorDriver,
    private readonly log: Log,
  ) {}

  /**
   * `ready`: whether a guest's network plumbing is here (libvirt refuses a guest whose bridge is
   * not); `domains`: the domains the host has now (their files are theirs, or an orphan's).
   */
  async handle(api: AgentApi, view: Assignments, ready: (instanceId: string) => boolean, domains: Set<string>): Promise<void> {
    for (const m of view.incoming) {
      if (this.started.has(m.migrationId) || !ready(m.instanceId)) continue;
      this.started.add(m.migrationId);
      void this.prepare(api, m);
    }
    // A migration leaves `incoming` once prepared; it never comes back there.
    const listed = new Set(view.incoming.map((m) => m.migrationId));
    for (const id of this.started) if (!listed.has(id)) this.started.delete(id);
    const keep = new Set([...view.incoming.map((m) => m.instanceId), ...view.held, ...view.instances.map((i) => i.id), ...domains]);
    for (const id of await this.driver.instanceFiles()) {
      if (keep.has(id)) continue;
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
