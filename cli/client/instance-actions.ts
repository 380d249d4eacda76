import type { Command } from 'commander';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { ERROR_FIELDS, unwrap } from './errors.ts';
import { followInstance, settlesAt } from './follow.ts';
import { instanceId } from './instance-ref.ts';

/** Each verb sets the desired power state (as `openstack server stop` etc.); the reconciler does the rest. */
const VERBS: Record<string, { power: string; status: string; help: string }> = {
  start: { power: 'running', status: 'ACTIVE', help: 'power a stopped instance on' },
  stop: { power: 'stopped', status: 'SHUTOFF', help: 'shut an instance down' },
  pause: { power: 'paused', status: 'PAUSED', help: 'pause an instance (kept in memory)' },
  unpause: { power: 'running', status: 'ACTIVE', help: 'unpause a paused instance' },
  suspend: { power: 'suspended', status: 'SUSPENDED', help: 'suspend an instance (saved to disk)' },
  resume: { power: 'running', status: 'ACTIVE', help: 'resume a suspended instance' },
};

export function registerInstanceActions(program: Command): void {
  for (const [verb, { power, status, help }] of Object.entries(VERBS)) {
    withConnection(
      program
        .command(verb)
        .description(help)
        .argument('<instance>', 'ID or name')
        .option('--wait', `follow until ${status} (exit 0) or a failure (exit 1)`),
    ).action(
      clientAction(async ({ client }, ref: string, o: { wait?: boolean }) => {
        const id = await instanceId(client, ref);
        const d = await client.request(
          `mutation($id: ID!, $i: UpdateInstanceInput!) { updateInstance(id: $id, input: $i) {
            ${ERROR_FIELDS} ... on UpdateInstanceSuccess { instance { name generation } } } }`,
          { id, i: { powerState: power } },
        );
        const { instance } = unwrap(d.updateInstance);
        process.stdout.write(`instance/${instance.name} ${verb} requested\n`);
        if (o.wait) await followInstance(client, id, instance.name, settlesAt(status, instance.generation));
      }),
    );
  }
}
