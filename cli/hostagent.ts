import path from 'node:path';
import { rootLog } from '../core/log.ts';
import { HostAgent } from '../hostagent/agent.ts';
import type { HypervisorDriver } from '../hostagent/drivers/driver.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';

export interface HostAgentCliOptions {
  api: string;
  name: string;
  driver: string;
  enrollmentToken?: string;
  stateDir: string;
  uri: string;
  heartbeat: string;
}

async function makeDriver(o: HostAgentCliOptions): Promise<HypervisorDriver> {
  if (o.driver === 'fake') return new FakeDriver();
  if (o.driver === 'libvirt') {
    const { LibvirtDriver } = await import('../hostagent/drivers/libvirt/driver.ts');
    return new LibvirtDriver({ uri: o.uri, instancesDir: path.join(path.resolve(o.stateDir), 'instances') });
  }
  throw new Error(`unknown driver ${JSON.stringify(o.driver)} (use libvirt or fake)`);
}

/** `orrery hostagent`: runs the agent for this host until SIGINT/SIGTERM. */
export async function runHostAgent(o: HostAgentCliOptions): Promise<void> {
  const log = rootLog().child({ component: 'hostagent', host: o.name });
  const driver = await makeDriver(o);
  const agent = new HostAgent({
    apiUrl: o.api,
    name: o.name,
    driver,
    log,
    stateDir: path.resolve(o.stateDir),
    enrollmentToken: o.enrollmentToken,
    heartbeatSeconds: Number(o.heartbeat),
  });
  await agent.start();
  const stop = async () => {
    await agent.stop();
    await driver.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
