import os from 'node:os';
import path from 'node:path';
import { rootLog, type Log } from '../../core/log.ts';
import { HostAgent } from '../../hostagent/agent.ts';
import { FakeDriver, type FakeDriverOptions } from '../../hostagent/drivers/fake.ts';
import type { OrreryClient } from '../../client/graphql.ts';

export interface FakeHost {
  name: string;
  agent: HostAgent;
  driver: FakeDriver;
}

export async function enrollmentToken(admin: OrreryClient): Promise<string> {
  const d = await admin.request(`mutation { createEnrollmentToken(description: "test") {
    ... on CreateEnrollmentTokenSuccess { token { secret } } } }`);
  return d.createEnrollmentToken.token.secret;
}

/** Real agent code over fake hypervisors, in this process. */
export async function startFakeHosts(
  url: string,
  admin: OrreryClient,
  hosts: { name: string; driver?: FakeDriverOptions }[],
  options: { heartbeatSeconds?: number; resyncSeconds?: number; log?: Log } = {},
): Promise<FakeHost[] & { stop(): Promise<void> }> {
  const token = await enrollmentToken(admin);
  const started: FakeHost[] = [];
  for (const h of hosts) {
    const driver = new FakeDriver(h.driver);
    const agent = new HostAgent({
      apiUrl: url,
      name: h.name,
      driver,
      log: (options.log ?? rootLog()).child({ host: h.name }),
      stateDir: path.join(os.tmpdir(), `orrery-agent-${process.pid}-${h.name}-${Date.now()}`),
      enrollmentToken: token,
      heartbeatSeconds: options.heartbeatSeconds ?? 1,
      resyncSeconds: options.resyncSeconds ?? 5,
    });
    await agent.start();
    started.push({ name: h.name, agent, driver });
  }
  return Object.assign(started, {
    async stop() {
      for (const h of started) await h.agent.stop();
    },
  });
}
