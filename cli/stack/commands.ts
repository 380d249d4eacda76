import type { Command } from 'commander';
import type { OrreryClient } from '../../client/graphql.ts';
import { schemaIssues } from '../../core/validate.ts';
import { stackNameSchema } from '../../schema/documents/stack.ts';
import { clientAction } from '../client/action.ts';
import { withConnection } from '../client/connection.ts';
import { CliError } from '../client/errors.ts';
import { Applier } from './apply.ts';
import { readStackFile } from './document.ts';
import { readWorld } from './live.ts';
import type { Plan } from './changes.ts';
import { changesResources, planStack, renderPlan } from './plan.ts';

const say = (line: string) => process.stdout.write(line + '\n');

interface StackOptions {
  file: string;
  stack?: string;
  prune?: boolean;
}

/** The file checked, compared with what the API shows, and refused whole if anything is wrong. */
async function makePlan(client: OrreryClient, o: StackOptions): Promise<Plan> {
  const file = readStackFile(o.file);
  const stack = o.stack ?? file.doc.metadata.name;
  if (schemaIssues(stackNameSchema, stack).length > 0) {
    throw new CliError(`--stack ${JSON.stringify(stack)}: a stack name is letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  const plan = planStack(file, stack, await readWorld(client, stack, (file.doc.aggregates ?? []).length > 0), o.prune ?? false);
  if (plan.problems.length > 0) throw new CliError(`${o.file} cannot be applied; nothing was changed`, plan.problems);
  return plan;
}

function stackCommand(cmd: Command): Command {
  return withConnection(
    cmd
      .requiredOption('-f, --file <path>', 'the desired-state file (YAML, kind: Stack)')
      .option('--stack <name>', "the stack's name (default: the file's metadata.name)")
      .option('--prune', 'delete what the stack owns and the file no longer names'),
  );
}

export function registerStackCommands(program: Command): void {
  stackCommand(
    program
      .command('plan')
      .description('show what apply would change; exit 0: nothing, 2: changes, 1: errors (as terraform plan -detailed-exitcode)'),
  ).action(
    clientAction(async ({ client }, o: StackOptions) => {
      const plan = await makePlan(client, o);
      for (const line of renderPlan(plan)) say(line);
      if (changesResources(plan)) process.exitCode = 2;
    }),
  );

  stackCommand(
    program
      .command('apply')
      .description("make the project match the file, then follow the instances until they settle (the server records the stack's resources)")
      .option('--no-wait', 'send the changes and return without following the instances'),
  ).action(
    clientAction(async ({ client }, o: StackOptions & { wait: boolean }) => {
      const plan = await makePlan(client, o);
      for (const line of renderPlan(plan)) say(line);
      if (plan.changes.every((c) => c.op === 'keep')) return;
      await new Applier(client, plan, o.wait).run();
      say(changesResources(plan) ? `Apply complete: stack ${plan.stack} matches the file.` : `Stack ${plan.stack}: records brought up to date.`);
    }),
  );
}
