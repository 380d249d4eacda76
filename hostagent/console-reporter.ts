import type { Log } from '../core/log.ts';
import { reportableConsoleText } from '../core/text.ts';
import type { AgentApi, Assignments } from './api.ts';
import type { HypervisorDriver } from './drivers/driver.ts';

const TAIL_LINES = 200;

/** Pushes the tail of each guest's serial console when it changed, so the API can answer consoleOutput. */
export class ConsoleReporter {
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly driver: HypervisorDriver,
    private readonly log: Log,
  ) {}

  async push(api: AgentApi, view: Assignments): Promise<void> {
    const changed: { id: string; output: string }[] = [];
    const live = new Set<string>();
    for (const inst of view.instances) {
      if (inst.deleted) continue;
      live.add(inst.id);
      const raw = await this.driver.consoleOutput(inst.id, TAIL_LINES).catch(() => null);
      const output = raw === null ? null : reportableConsoleText(raw);
      if (output === null || this.sent.get(inst.id) === output) continue;
      changed.push({ id: inst.id, output });
    }
    for (const id of this.sent.keys()) if (!live.has(id)) this.sent.delete(id);
    if (changed.length === 0) return;
    try {
      await api.reportConsoles(changed);
      for (const c of changed) this.sent.set(c.id, c.output);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'console report failed');
    }
  }
}
