import { Command } from 'commander';
import { hostname } from 'node:os';
import { runHostAgent } from './hostagent.ts';
import { runServer } from './server.ts';

const program = new Command('orrery')
  .description('Orrery: a declarative compute control plane for fleets of libvirt hosts')
  .showHelpAfterError();

program.command('server').description('run the API and the job worker in one process').action(() => runServer({ api: true, worker: true }));
program.command('api').description('run only the GraphQL API').action(() => runServer({ api: true, worker: false }));
program.command('worker').description('run only the job worker (reconcilers, placement, sweep)').action(() => runServer({ api: false, worker: true }));
program
  .command('hostagent')
  .description('run the agent of this compute host')
  .option('--api <url>', 'control plane URL', process.env.ORRERY_API ?? 'http://127.0.0.1:8774')
  .option('--name <name>', 'host name', process.env.ORRERY_HOST_NAME ?? hostname())
  .option('--driver <driver>', 'hypervisor driver: libvirt or fake', 'libvirt')
  .option('--enrollment-token <token>', 'enrollment token (first start only)', process.env.ORRERY_ENROLLMENT_TOKEN)
  .option('--state-dir <dir>', 'where the host credential and instance files live', process.env.ORRERY_AGENT_STATE_DIR ?? '.orrery/agent')
  .option('--uri <uri>', 'libvirt connection URI', 'qemu:///system')
  .option('--heartbeat <seconds>', 'heartbeat period', '10')
  .action((o) => runHostAgent(o));
program
  .command('print-schema')
  .description('print the GraphQL schema (SDL)')
  .action(async () => {
    const { printedSchema } = await import('../schema/index.ts');
    process.stdout.write(printedSchema());
  });

await program.parseAsync(process.argv);
