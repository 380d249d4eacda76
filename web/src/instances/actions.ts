import { gql, unwrap } from '../api.ts';
import type { InstanceView } from './fields.ts';

type Result = { __typename: string; message?: string };

/** A row action: the policy rule that allows it and the statuses Nova allows it from. */
export interface InstanceAction {
  key: string;
  label: string;
  rule: string;
  from: string[];
  /** Asks for one value first (a flavor, an image name). */
  arg?: { label: string };
  /** Asks "are you sure" first. */
  confirm?: boolean;
  run: (i: InstanceView, arg: string) => Promise<unknown>;
}

const ERRORS = '... on Error { message }';

async function mutate(field: string, signature: string, call: string, variables: Record<string, unknown>): Promise<void> {
  const d = await gql<Record<string, Result>>(`mutation(${signature}) { ${field}(${call}) { __typename ${ERRORS} } }`, variables);
  unwrap(d[field]!);
}

const power = (state: string) => (i: InstanceView) =>
  mutate('updateInstance', '$id: ID!, $p: DesiredPowerState', 'id: $id, input: { powerState: $p }', { id: i.id, p: state });
const byId = (field: string) => (i: InstanceView) => mutate(field, '$id: ID!', 'id: $id', { id: i.id });

export const ACTIONS: InstanceAction[] = [
  { key: 'start', label: 'Start', rule: 'instance:update', from: ['SHUTOFF', 'PAUSED', 'SUSPENDED'], run: power('running') },
  { key: 'stop', label: 'Stop', rule: 'instance:update', from: ['ACTIVE', 'PAUSED', 'SUSPENDED', 'ERROR'], run: power('stopped') },
  { key: 'reboot', label: 'Reboot', rule: 'instance:reboot', from: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'ERROR'], run: byId('rebootInstance') },
  { key: 'pause', label: 'Pause', rule: 'instance:update', from: ['ACTIVE'], run: power('paused') },
  {
    key: 'resize', label: 'Resize', rule: 'instance:resize', from: ['ACTIVE', 'SHUTOFF'], arg: { label: 'New flavor' },
    run: (i, flavor) => mutate('updateInstance', '$id: ID!, $f: String', 'id: $id, input: { flavor: $f }', { id: i.id, f: flavor }),
  },
  { key: 'confirm', label: 'Confirm resize', rule: 'instance:resize', from: ['VERIFY_RESIZE'], run: byId('confirmResize') },
  { key: 'revert', label: 'Revert resize', rule: 'instance:resize', from: ['VERIFY_RESIZE'], run: byId('revertResize') },
  { key: 'migrate', label: 'Migrate', rule: 'instance:migrate', from: ['ACTIVE', 'SHUTOFF'], run: byId('migrateInstance') },
  { key: 'shelve', label: 'Shelve', rule: 'instance:shelve', from: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'], run: byId('shelveInstance') },
  { key: 'unshelve', label: 'Unshelve', rule: 'instance:unshelve', from: ['SHELVED', 'SHELVED_OFFLOADED'], run: byId('unshelveInstance') },
  {
    key: 'snapshot', label: 'Snapshot', rule: 'instance:snapshot', from: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'], arg: { label: 'Image name' },
    run: (i, name) => mutate('snapshotInstance', '$id: ID!, $n: String!', 'id: $id, name: $n', { id: i.id, n: name }),
  },
  { key: 'delete', label: 'Delete', rule: 'instance:delete', from: [], confirm: true, run: byId('deleteInstance') },
];

/** The actions this caller may take on `i` now (delete: from any state but while deleting). */
export function actionsFor(i: InstanceView, can: (rule: string) => boolean): InstanceAction[] {
  return ACTIONS.filter((a) => can(a.rule) && (a.key === 'delete' ? i.taskState !== 'deleting' : a.from.includes(i.status) && !i.taskState));
}
