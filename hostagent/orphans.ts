import type { Log } from '../core/log.ts';
import type { AgentApi, Assignments } from './api.ts';
import type { DomainStatus, HypervisorDriver, PowerState } from './drivers/driver.ts';

/**
 * Domains that carry Orrery's metadata but are not bound to this host: left behind by a local
 * delete while the host was down, or defined by hand. Removed or kept per the host's setting,
 * and reported either way so an operator can see them.
 */
export class OrphanHandler {
  private lastReport = '';

  constructor(
    private readonly driver: HypervisorDriver,
    private readonly log: Log,
  ) {}

  async handle(api: AgentApi, view: Assignments, domains: Iterable<DomainStatus>, busy: Set<string>): Promise<void> {
    const wanted = new Set(view.instances.map((i) => i.id));
    const fenced = new Set(view.fenced);
    const held = new Set(view.held);
    const found: { id: string; powerState: PowerState; action: 'removed' | 'kept' }[] = [];
    for (const dom of domains) {
      if (!dom.managed || wanted.has(dom.instanceId) || held.has(dom.instanceId) || busy.has(dom.instanceId)) continue;
      // An evacuated instance runs elsewhere now: its old domain must never run here again.
      if (view.orphanPolicy === 'keep' && !fenced.has(dom.instanceId)) {
        found.push({ id: dom.instanceId, powerState: dom.powerState, action: 'kept' });
        continue;
      }
      this.log.warn({ instance: dom.instanceId }, 'removing orphan domain (not bound to this host)');
      try {
        await this.driver.destroy(dom.instanceId);
        found.push({ id: dom.instanceId, powerState: dom.powerState, action: 'removed' });
      } catch (e) {
        this.log.error({ instance: dom.instanceId, err: (e as Error).message }, 'orphan removal failed; will retry');
      }
    }
    const key = JSON.stringify(found);
    if (found.length === 0 || key === this.lastReport) return;
    try {
      await api.reportOrphans(found);
      this.lastReport = key;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'orphan report failed');
    }
  }
}
