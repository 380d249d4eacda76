import type { AgentInstanceRow, AgentView, AgentViewChange } from '../store/agent-view.ts';

/**
 * What an agent acts on in one instance of its view: the row without its change revision, without
 * the echo of its own reports (the generation it observed, the operation it completed: it
 * remembers both) and without the request id it only logs (it changes with the generation or
 * operation it came with, and an action that ends needs no push).
 */
const NOT_ACTED_ON = new Set<string>(['revision', 'observed_generation', 'completed_operation_id', 'request_id']);

function instanceKey(i: AgentInstanceRow): string {
  return JSON.stringify({ ...i, revision: 0, observed_generation: 0, completed_operation_id: null, request_id: null });
}

/** Whether an agent would act differently on `b` than on `a` (the measure of instanceKey, field by field: no text built). */
function actedOnDiffers(a: AgentInstanceRow, b: AgentInstanceRow): boolean {
  for (const k of Object.keys(b) as (keyof AgentInstanceRow)[]) {
    if (NOT_ACTED_ON.has(k)) continue;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    // Objects (metadata, image properties, an operation's parameters) by content.
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || JSON.stringify(x) !== JSON.stringify(y)) return true;
  }
  return false;
}

function hostKey(v: AgentView): string {
  return JSON.stringify([v.hostName, v.epoch, v.enabled, v.orphanPolicy, v.fenced, v.held, v.incoming]);
}

/**
 * What an agent acts on in its whole view, as one text.
 * Writes to instance columns the agent does not read do not even wake the watch (their change
 * notification says so: migrations/000011); this catches the rest: a re-read woken by a change
 * that left the view as it was but for its revisions, or by several changes at once. Pushing the
 * view again would only make the agent re-converge on what it already has. A reconnecting agent
 * gets the full view first, so it never depends on a skipped push.
 */
export function agentVisible(view: AgentView): string {
  return JSON.stringify([hostKey(view), view.instances.map(instanceKey), view.networks]);
}

/**
 * Turns successive full reads of one host's view into what changed between them, by the same
 * measure as `agentVisible`: an instance is sent again only when something its agent acts on
 * changed, and a read with nothing new is not pushed (undefined). One per watch: it remembers what
 * that watch pushed.
 */
export function viewChanges(): (view: AgentView) => AgentViewChange | undefined {
  let pushed: { host: string; networks: string; instances: Map<string, AgentInstanceRow> } | undefined;
  return (view) => {
    const instances = new Map(view.instances.map((i) => [i.id, i]));
    const host = hostKey(view);
    const networks = JSON.stringify(view.networks);
    const last = pushed;
    pushed = { host, networks, instances };
    if (!last) return { ...view, full: true, removed: [] };
    const changed = view.instances.filter((i) => {
      const before = last.instances.get(i.id);
      return !before || actedOnDiffers(before, i);
    });
    const removed = [...last.instances.keys()].filter((id) => !instances.has(id));
    const networksChanged = networks !== last.networks;
    if (changed.length === 0 && removed.length === 0 && !networksChanged && host === last.host) return undefined;
    return { ...view, full: false, instances: changed, removed, networks: networksChanged ? view.networks : null };
  };
}
