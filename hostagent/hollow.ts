import path from 'node:path';
import type { Log } from '../core/log.ts';
import { HostAgent } from './agent.ts';
import { FakeDriver, type FakeDriverOptions } from './drivers/fake.ts';

export interface HollowHostsOptions {
  apiUrl: string;
  count: number;
  /** Host names are the prefix and a zero-padded number: hollow-0001, hollow-0002, … */
  namePrefix: string;
  enrollmentToken?: string;
  /** Each host keeps its own credential in a folder named after it under here. */
  stateDir: string;
  heartbeatSeconds: number;
  resyncSeconds: number;
  consoleSeconds: number;
  /** Agents enrolling at once: a thousand at once would only queue up in the API. */
  startConcurrency: number;
  driver?: FakeDriverOptions;
  log: Log;
  onStarted?: (started: number) => void;
}

export interface HollowHost {
  name: string;
  agent: HostAgent;
  driver: FakeDriver;
}

const START_ATTEMPTS = 5;

/**
 * Kubemark's idea: many complete host agents (the real HostAgent: enrollment, keep-alive pings,
 * watch, reports) in one process over fake hypervisors. Each has its own name, credential and inventory,
 * and talks to the API exactly as a real host would. Start-up is staggered, which also spreads
 * their pings and resyncs over the period instead of firing all at once.
 */
export async function startHollowHosts(o: HollowHostsOptions): Promise<HollowHost[] & { stop(): Promise<void> }> {
  const width = String(o.count).length;
  const hosts: HollowHost[] = [];
  let next = 0;
  let failed = false;
  const startOne = async (i: number): Promise<void> => {
    const name = `${o.namePrefix}${String(i + 1).padStart(width, '0')}`;
    for (let attempt = 1; ; attempt++) {
      const driver = new FakeDriver(o.driver);
      const agent = new HostAgent({
        apiUrl: o.apiUrl,
        name,
        driver,
        log: o.log.child({ host: name }),
        stateDir: path.join(o.stateDir, name),
        enrollmentToken: o.enrollmentToken,
        heartbeatSeconds: o.heartbeatSeconds,
        resyncSeconds: o.resyncSeconds,
        consoleSeconds: o.consoleSeconds,
      });
      try {
        await agent.start();
        hosts.push({ name, agent, driver });
        o.onStarted?.(hosts.length);
        return;
      } catch (e) {
        await agent.stop();
        if (attempt === START_ATTEMPTS) throw e;
        o.log.warn({ host: name, attempt, err: (e as Error).message }, 'hollow host failed to start; retrying');
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(o.startConcurrency, o.count)) }, async () => {
    while (next < o.count && !failed) {
      await startOne(next++).catch((e: unknown) => {
        failed = true;
        throw e;
      });
    }
  });
  const stop = async () => {
    await Promise.all(hosts.map((h) => h.agent.stop().then(() => h.driver.close())));
  };
  const outcomes = await Promise.allSettled(lanes);
  const failure = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  return Object.assign(hosts, { stop });
}
