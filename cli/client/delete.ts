import type { Command } from 'commander';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { ERROR_FIELDS, unwrap } from './errors.ts';
import { followInstance } from './follow.ts';
import { instanceId } from './instance-ref.ts';

const say = (line: string) => process.stdout.write(line + '\n');

/** Catalogue resources deleted by name or ID through `delete<Mutation>(ref)`. */
const BY_REF: Record<string, { mutation: string; field: string }> = {
  flavor: { mutation: 'deleteFlavor', field: 'flavor' },
  image: { mutation: 'deleteImage', field: 'image' },
  zone: { mutation: 'deleteAvailabilityZone', field: 'availabilityZone' },
  aggregate: { mutation: 'deleteAggregate', field: 'aggregate' },
};

export function registerDelete(program: Command): void {
  const del = program.command('delete').description('delete an instance, flavor, image, zone or aggregate');

  withConnection(
    del
      .command('instance')
      .description('request deletion; the instance goes once its host confirms')
      .argument('<instance>', 'ID or name')
      .option('--wait', 'follow until the instance is gone'),
  ).action(
    clientAction(async ({ client }, ref: string, o: { wait?: boolean }) => {
      const id = await instanceId(client, ref);
      const d = await client.request(
        `mutation($id: ID!) { deleteInstance(id: $id) { ${ERROR_FIELDS} ... on DeleteInstanceSuccess { instance { id name } } } }`,
        { id },
      );
      const { instance } = unwrap(d.deleteInstance);
      say(`instance/${instance.name} deletion requested`);
      if (o.wait) await followInstance(client, id, instance.name, (i) => (i ? 'waiting' : 'done'));
    }),
  );

  for (const [kind, { mutation, field }] of Object.entries(BY_REF)) {
    withConnection(del.command(kind).description(`delete a ${kind}`).argument('<ref>', 'name or ID')).action(
      clientAction(async ({ client }, ref: string) => {
        const d = await client.request(
          `mutation($ref: String!) { ${mutation}(ref: $ref) { ${ERROR_FIELDS} ... on ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Success {
            ${field} { name } } } }`,
          { ref },
        );
        say(`${kind}/${unwrap(d[mutation])[field].name} deleted`);
      }),
    );
  }
}
