import type { Command } from 'commander';
import type { OrreryClient } from '../../client/graphql.ts';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { CliError, ERROR_FIELDS, unwrap } from './errors.ts';
import { instanceId } from './instance-ref.ts';

/**
 * The one-shot operations as `openstack server <verb>` has them. Each is a queued action; with
 * --wait the command follows that action's events until it succeeds (exit 0) or fails (exit 1).
 */
interface Operation {
  help: string;
  mutation: string;
  /** Extra command-line options: flag, description. */
  options?: [string, string][];
  /** GraphQL arguments (besides the id) from the parsed options and extra positional arguments. */
  args?: (o: Record<string, unknown>, extra: string[]) => Record<string, unknown>;
  /** Extra positional arguments after <instance>. */
  positional?: [string, string][];
  /** What the mutation returns: its action, or the instance (then the newest action of that name is followed). */
  returns: { action: true } | { instance: string };
}

const HOST: [string, string] = ['--host <host>', 'destination host, name or ID (admins; the scheduler filters still check it)'];

const OPERATIONS: Record<string, Operation> = {
  reboot: { help: 'reboot an instance (soft: ACPI; --hard: reset)', mutation: 'rebootInstance', options: [['--hard', 'reset instead of ACPI']],
    args: (o) => ({ hard: o.hard === true }), returns: { action: true } },
  migrate: { help: 'cold-migrate an instance (admins); ends in VERIFY_RESIZE', mutation: 'migrateInstance', options: [HOST],
    args: (o) => (o.host ? { host: o.host } : {}), returns: { action: true } },
  'live-migrate': { help: 'move a running instance to another host without stopping it (admins)', mutation: 'liveMigrateInstance',
    options: [HOST], args: (o) => (o.host ? { host: o.host } : {}), returns: { action: true } },
  'confirm-resize': { help: 'keep a moved or resized instance where it is now', mutation: 'confirmResize', returns: { instance: 'confirmResize' } },
  'revert-resize': { help: 'take a moved or resized instance back to its old host and flavor', mutation: 'revertResize',
    returns: { instance: 'revertResize' } },
  shelve: { help: 'snapshot an instance and free its host (SHELVED_OFFLOADED)', mutation: 'shelveInstance', returns: { action: true } },
  unshelve: { help: 'boot a shelved instance again', mutation: 'unshelveInstance',
    options: [['--zone <zone>', 'availability zone to unshelve into'], HOST],
    args: (o) => ({ ...(o.zone ? { zone: o.zone } : {}), ...(o.host ? { host: o.host } : {}) }), returns: { instance: 'unshelve' } },
  rescue: { help: 'boot from a rescue image with the own disk attached second', mutation: 'rescueInstance',
    options: [['--image <image>', "rescue image, name or ID (default: the instance's own)"]],
    args: (o) => (o.image ? { image: o.image } : {}), returns: { action: true } },
  unrescue: { help: 'boot from the own disk again', mutation: 'unrescueInstance', returns: { action: true } },
  snapshot: { help: "copy an instance's disk into a new private image", mutation: 'snapshotInstance',
    positional: [['<image-name>', 'name of the new image']], args: (_o, [name]) => ({ name }), returns: { action: true } },
  evacuate: { help: 'rebuild an instance elsewhere because its host is down (admins)', mutation: 'evacuateInstance', options: [HOST],
    args: (o) => (o.host ? { host: o.host } : {}), returns: { instance: 'evacuate' } },
};

const ACTION_FIELDS = 'id action state message imageId events { event result host details }';

interface ActionView {
  id: string;
  action: string;
  state: string;
  message: string | null;
  imageId: string | null;
  events: { event: string; result: string; host: string | null; details: string | null }[];
}

export function registerInstanceOperations(program: Command): void {
  for (const [verb, op] of Object.entries(OPERATIONS)) {
    let cmd = program.command(verb).description(op.help).argument('<instance>', 'ID or name');
    for (const [arg, help] of op.positional ?? []) cmd = cmd.argument(arg, help);
    for (const [flag, help] of op.options ?? []) cmd = cmd.option(flag, help);
    withConnection(cmd.option('--wait', 'follow the operation until it succeeds (exit 0) or fails (exit 1)')).action(
      clientAction(async ({ client }, ref: string, ...rest: unknown[]) => {
        const extra = rest.slice(0, op.positional?.length ?? 0) as string[];
        const o = rest[op.positional?.length ?? 0] as Record<string, unknown>;
        const id = await instanceId(client, ref);
        const action = await request(client, id, op, o, extra);
        const { name } = await actionsOf(client, id);
        process.stdout.write(`instance/${name} ${verb} ${action.state === 'succeeded' ? 'done' : 'requested'} (action ${action.id})\n`);
        if (action.imageId && verb === 'snapshot') process.stdout.write(`image ${action.imageId}\n`);
        if (o.wait) await followAction(client, id, name, action.id);
      }),
    );
  }
}

async function request(client: OrreryClient, id: string, op: Operation, o: Record<string, unknown>, extra: string[]): Promise<ActionView> {
  const args = op.args?.(o, extra) ?? {};
  const names = Object.keys(args);
  const decl = names.map((n) => `, $${n}: ${n === 'hard' ? 'Boolean' : 'String'}`).join('');
  const pass = names.map((n) => `, ${n}: $${n}`).join('');
  const wants = 'action' in op.returns ? `action { ${ACTION_FIELDS} }` : 'instance { id }';
  const d = await client.request(
    `mutation($id: ID!${decl}) { r: ${op.mutation}(id: $id${pass}) { ${ERROR_FIELDS} ... on ${capitalised(op.mutation)}Success { ${wants} } } }`,
    { id, ...args },
  );
  const result = unwrap(d.r) as { action?: ActionView };
  if (result.action) return result.action;
  const newest = (await actionsOf(client, id)).actions.find((a) => a.action === (op.returns as { instance: string }).instance);
  if (!newest) throw new CliError(`the API recorded no ${op.mutation} action`);
  return newest;
}

/** The instance's name and its actions, newest first. */
async function actionsOf(client: OrreryClient, id: string): Promise<{ name: string; actions: ActionView[] }> {
  const d = await client.request<{ instance: { name: string; actions: ActionView[] } | null }>(
    `query($id: ID!) { instance(id: $id) { name actions { ${ACTION_FIELDS} } } }`,
    { id },
  );
  if (!d.instance) throw new CliError(`instance ${id} is gone`);
  return { name: d.instance.name, actions: [...d.instance.actions].reverse() };
}

/** Prints each new event of the action until it ends; a failed action is a CliError with its message. */
async function followAction(client: OrreryClient, id: string, label: string, actionId: string): Promise<void> {
  let printed = 0;
  for (;;) {
    const a = (await actionsOf(client, id)).actions.find((x) => x.id === actionId);
    if (!a) throw new CliError(`action ${actionId} of instance ${label} is gone`);
    for (const e of a.events.slice(printed)) {
      process.stdout.write(`instance ${label}: ${e.event} ${e.result}${e.host ? ` on ${e.host}` : ''}${e.details ? ` (${e.details})` : ''}\n`);
    }
    printed = a.events.length;
    if (a.state === 'succeeded') return;
    if (a.state === 'failed') throw new CliError(`${a.action} of instance ${label} failed: ${a.message ?? 'no reason given'}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const capitalised = (s: string) => s[0]!.toUpperCase() + s.slice(1);
