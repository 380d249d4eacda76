import { isIP } from 'node:net';
import path from 'node:path';
import { rootLog, type Log } from '../core/log.ts';
import { startOpsListener, type Check, type OpsEndpoints } from '../core/ops-http.ts';
import { HostAgent, type HostAgentOptions } from '../hostagent/agent.ts';
import { cachedImages } from '../hostagent/instance-images.ts';
import type { HypervisorDriver } from '../hostagent/drivers/driver.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { dumpFakeDomains } from '../hostagent/domain-dump.ts';
import { startHollowHosts } from '../hostagent/hollow.ts';
import { agentRegistry } from '../hostagent/metrics.ts';
import { portNumber } from './port.ts';
import { runUntilSignal, type Stops } from './until-signal.ts';

export interface HostAgentCliOptions {
  api: string;
  name: string;
  driver: string;
  enrollmentToken?: string;
  stateDir: string;
  uri: string;
  migrationUri?: string;
  tunnelAddress?: string;
  networkNamespace?: string;
  forceConfigDrive?: boolean;
  liveMigrationTimeout?: string;
  liveMigrationBandwidth?: string;
  heartbeat: string;
  virtType?: string;
  reservedVcpus: string;
  reservedMemoryMb: string;
  reservedDiskGb: string;
  /** Hollow hosts: this many complete agents over fake hypervisors in this process. */
  hosts?: string;
  namePrefix: string;
  startConcurrency: string;
  resync: string;
  /** With --hosts: on SIGUSR2, write every hollow host's fake domains to this JSON file. */
  dumpDomains?: string;
  /** Serve /livez, /readyz and /metrics on this port (unset: no listener). */
  metricsPort?: string;
  metricsListen: string;
}

interface DriverSetup {
  driver: HypervisorDriver;
  networking?: HostAgentOptions['networking'];
  imagePath?: HostAgentOptions['imagePath'];
  pruneImages?: HostAgentOptions['pruneImages'];
  metadataSocket?: string;
}

async function makeDriver(o: HostAgentCliOptions): Promise<DriverSetup> {
  if (o.driver === 'fake') return { driver: new FakeDriver() };
  if (o.driver === 'libvirt') {
    const { LibvirtDriver } = await import('../hostagent/drivers/libvirt/driver.ts');
    const { inspectImage } = await import('../hostagent/drivers/libvirt/disk.ts');
    const state = path.resolve(o.stateDir);
    const driver = new LibvirtDriver({
      uri: o.uri,
      migrationUri: o.migrationUri,
      instancesDir: path.join(state, 'instances'),
      virtType: o.virtType as 'kvm' | 'qemu' | undefined,
      reserved: { vcpus: Number(o.reservedVcpus), memoryMb: Number(o.reservedMemoryMb), diskGb: Number(o.reservedDiskGb) },
      liveMigration: {
        timeoutSeconds: o.liveMigrationTimeout === undefined ? undefined : positive('--live-migration-timeout', o.liveMigrationTimeout),
        bandwidthMiBs: o.liveMigrationBandwidth === undefined ? undefined : positive('--live-migration-bandwidth', o.liveMigrationBandwidth),
      },
    });
    const images = cachedImages(path.join(state, 'images'), { inspect: inspectImage });
    const { LinuxPlumbing } = await import('../hostagent/network/linux.ts');
    const metadataSocket = path.join(state, 'metadata.sock');
    const networking = new LinuxPlumbing({
      netns: o.networkNamespace,
      tunnelAddress: o.tunnelAddress ?? null,
      // Service namespaces are global names: the host's name keeps two hosts of one machine apart.
      namespacePrefix: `orrsvc-${o.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-`,
      stateDir: path.join(state, 'network'),
      metadataSocket,
      log: rootLog().child({ component: 'network', host: o.name }),
    });
    return { driver, networking, metadataSocket, imagePath: images.imagePath, pruneImages: (inUse) => images.cache.prune(inUse) };
  }
  throw new Error(`unknown driver ${JSON.stringify(o.driver)} (use libvirt or fake)`);
}

/** `orrery hostagent`: runs the agent for this host (or N hollow hosts) until SIGINT/SIGTERM. */
export async function runHostAgent(o: HostAgentCliOptions): Promise<void> {
  if (o.hosts !== undefined) return runHollowHosts(o);
  if (o.tunnelAddress !== undefined && !isIP(o.tunnelAddress)) {
    throw new Error(`--tunnel-address takes an IP address of this host, got ${JSON.stringify(o.tunnelAddress)}`);
  }
  const log = rootLog().child({ component: 'hostagent', host: o.name });
  const { driver, networking, metadataSocket, imagePath, pruneImages } = await makeDriver(o);
  const agent = new HostAgent({
    apiUrl: o.api,
    name: o.name,
    driver,
    networking,
    tunnelAddress: o.tunnelAddress,
    forceConfigDrive: o.forceConfigDrive ?? false,
    metadataSocket,
    imagePath,
    pruneImages,
    log,
    stateDir: path.resolve(o.stateDir),
    enrollmentToken: o.enrollmentToken,
    heartbeatSeconds: Number(o.heartbeat),
    resyncSeconds: positive('--resync', o.resync),
  });
  await runUntilSignal(async (stops) => {
    stops.add(() => driver.close());
    await listenForOps(o, { checks: agent.readinessChecks(), metrics: agentRegistry() }, stops, log);
    await agent.start();
    stops.add(() => agent.stop());
  });
}

function positive(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a positive whole number, got ${JSON.stringify(raw)}`);
  return n;
}

/** `--hosts N`: hollow hosts for scale tests, each its own enrolled host with its own credential. */
async function runHollowHosts(o: HostAgentCliOptions): Promise<void> {
  if (o.driver !== 'fake') throw new Error('--hosts runs hollow hosts and needs --driver fake');
  const log = rootLog().child({ component: 'hollow-hosts' });
  const count = positive('--hosts', o.hosts!);
  let fleet: Awaited<ReturnType<typeof startHollowHosts>> | undefined;
  await runUntilSignal(async (stops) => {
    await listenForOps(o, { checks: fleetChecks(() => fleet), metrics: agentRegistry() }, stops, log);
    const started = performance.now();
    fleet = await startHollowHosts({
      apiUrl: o.api,
      count,
      namePrefix: o.namePrefix,
      enrollmentToken: o.enrollmentToken,
      stateDir: path.resolve(o.stateDir),
      heartbeatSeconds: positive('--heartbeat', o.heartbeat),
      resyncSeconds: positive('--resync', o.resync),
      // Console tails of fake guests say nothing new; push them rarely.
      consoleSeconds: 60,
      startConcurrency: positive('--start-concurrency', o.startConcurrency),
      log,
      onStarted: (n) => {
        if (n % 1000 === 0 || n === count) log.info({ started: n, of: count }, 'hollow hosts running');
      },
    });
    const hosts = fleet;
    stops.add(() => hosts.stop());
    if (o.dumpDomains) {
      const file = path.resolve(o.dumpDomains);
      process.on('SIGUSR2', () => {
        dumpFakeDomains(hosts, file).then(
          (domains) => log.info({ file, domains }, 'fake domains dumped'),
          (e: unknown) => log.error({ file, err: (e as Error).message }, 'fake domain dump failed'),
        );
      });
    }
    log.info({ hosts: hosts.length, seconds: Math.round((performance.now() - started) / 100) / 10 }, 'all hollow hosts enrolled and watching');
  });
}

/** With --metrics-port, the probes (and metrics) listen from before enrollment: live, not yet ready. */
async function listenForOps(o: HostAgentCliOptions, endpoints: OpsEndpoints, stops: Stops, log: Log): Promise<void> {
  if (o.metricsPort === undefined) return;
  const listener = await startOpsListener(endpoints, portNumber('--metrics-port', o.metricsPort), o.metricsListen);
  stops.add(() => listener.close());
  log.info({ url: listener.url }, 'probes and metrics listening (/livez, /readyz, /metrics)');
}

/** Hollow hosts are ready when every one is: each check fails naming how many hosts fail it. */
function fleetChecks(fleet: () => { agent: HostAgent }[] | undefined): Record<string, Check> {
  const per = (name: string): Check => async () => {
    const hosts = fleet();
    if (!hosts) return 'hollow hosts still starting';
    const answers = await Promise.all(hosts.map((h) => h.agent.readinessChecks()[name]!()));
    const failing = answers.filter((a): a is string => a !== null);
    return failing.length ? `${failing.length} of ${hosts.length} hosts: ${failing[0]}` : null;
  };
  return { enrolled: per('enrolled'), 'control-plane': per('control-plane') };
}
