import type { HostNetwork } from '../core/host-network.ts';
import type { Assignments } from './api.ts';

/** One push of the `agentAssignmentChanges` watch. */
export interface AssignmentChange extends Omit<Assignments, 'networks'> {
  full: boolean;
  removed: string[];
  networks: HostNetwork[] | null;
}

/**
 * The view after one push of a watch: a full push replaces it; any other merges into the view the
 * same watch built (changed instances replace theirs, removed ones go, networks only when sent).
 * Instances stay in the control plane's order (by id), as a full push has them.
 */
export function applyAssignmentChange(view: Assignments | null, change: AssignmentChange): Assignments {
  const { full, removed, networks, instances, ...host } = change;
  if (full) return { ...host, instances, networks: networks ?? [] };
  if (!view) throw new Error('the watch sent a change before the full view');
  const byId = new Map(view.instances.map((i) => [i.id, i]));
  for (const id of removed) byId.delete(id);
  for (const i of instances) byId.set(i.id, i);
  return {
    ...host,
    instances: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    networks: networks ?? view.networks,
  };
}
