import type { OrreryClient } from '../../client/graphql.ts';
import { CliError } from './errors.ts';

export interface FollowedInstance {
  name: string;
  status: string;
  taskState: string | null;
  powerState: string;
  generation: number;
  observedGeneration: number;
  fault: { code: string; message: string; details: string | null } | null;
}

/** What a wait makes of the instance's latest state (null: it was deleted). */
export type Verdict = 'done' | 'failed' | 'waiting';

const SUBSCRIPTION = `subscription($id: ID!) { instanceUpdated(id: $id) { type instance {
  name status taskState powerState generation observedGeneration fault { code message details } } } }`;

/**
 * Follows one instance through the instanceUpdated subscription (its state now, then each change),
 * printing every status/task transition, until `verdict` decides. A failure ends as a CliError
 * carrying the fault.
 */
export async function followInstance(
  client: OrreryClient,
  id: string,
  label: string,
  verdict: (i: FollowedInstance | null) => Verdict,
): Promise<void> {
  const events = client.subscribe<{ instanceUpdated: { type: string; instance: FollowedInstance | null } }>(SUBSCRIPTION, { id });
  let last = '';
  try {
    for await (const { instanceUpdated: e } of events) {
      const i = e.instance;
      const line = i ? `${i.status}${i.taskState ? ` (${i.taskState})` : ''}` : 'deleted';
      if (line !== last) process.stdout.write(`instance ${label}: ${line}\n`);
      last = line;
      const v = verdict(i);
      if (v === 'done') return;
      if (v === 'failed') {
        const f = i?.fault;
        throw new CliError(
          i ? `instance ${label} is ${i.status}${f ? `: ${f.message}` : ''}` : `instance ${label} was deleted`,
          f ? [`fault: ${f.code}`, ...(f.details ? [`details: ${f.details}`] : [])] : [],
        );
      }
    }
  } finally {
    await events.return?.();
  }
  throw new CliError(`the API ended the subscription on instance ${label} early`);
}

/** The verdict of a wait for the instance to settle at `status` once `generation` is carried out. */
export function settlesAt(status: string, generation: number) {
  return (i: FollowedInstance | null): Verdict => {
    if (!i || i.status === 'ERROR') return 'failed';
    // A build being rescheduled passes through BUILD with no task; it is not over yet.
    if (i.taskState || i.status === 'BUILD') return 'waiting';
    if (i.status === status && i.observedGeneration >= generation) return 'done';
    // A change the host failed to apply ends its task with a fault, the old state kept.
    return i.fault ? 'failed' : 'waiting';
  };
}
