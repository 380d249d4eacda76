import path from 'node:path';
import { rootLog } from '../core/log.ts';
import { HostAgent, type HostAgentOptions } from '../hostagent/agent.ts';
import { cachedImages } from '../hostagent/instance-images.ts';
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
  virtType?: string;
  reservedVcpus: string;
  reservedMemoryMb: string;
  reservedDiskGb: string;
}

interface DriverSetup {
  driver: HypervisorDriver;
  imagePath?: HostAgentOptions['imagePath'];
  pruneImages?: HostAgentOptions['pruneImages'];
}

async function makeDriver(o: HostAgentCliOptions): Promise<DriverSetup> {
  if (o.driver === 'fake') return { driver: new FakeDriver() };
  if (o.driver === 'libvirt') {
    const { LibvirtDriver } = await import('../hostagent/drivers/libvirt/driver.ts');
    const { inspectImage } = await import('../hostagent/drivers/libvirt/disk.ts');
    const state = path.resolve(o.stateDir);
    const driver = new LibvirtDriver({
      uri: o.uri,
      instancesDir: path.join(state, 'instances'),
      virtType: o.virtType as 'kvm' | 'qemu' | undefined,
      reserved: { vcpus: Number(o.reservedVcpus), memoryMb: Number(o.reservedMemoryMb), diskGb: Number(o.reservedDiskGb) },
    });
    const images = cachedImages(path.join(state, 'images'), { inspect: inspectImage });
    return { driver, imagePath: images.imagePath, pruneImages: (inUse) => images.cache.prune(inUse) };
  }
  throw new Error(`unknown driver ${JSON.stringify(o.driver)} (use libvirt or fake)`);
}

/** `orrery hostagent`: runs the agent for this host until SIGINT/SIGTERM. */
export async function runHostAgent(o: HostAgentCliOptions): Promise<void> {
  const log = rootLog().child({ component: 'hostagent', host: o.name });
  const { driver, imagePath, pruneImages } = await makeDriver(o);
  const agent = new HostAgent({
    apiUrl: o.api,
    name: o.name,
    driver,
    imagePath,
    pruneImages,
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
