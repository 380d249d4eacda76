import type { AgentView } from '../store/agent-view.ts';

/**
 * What an agent acts on in its view: the view without its change revisions, without the echo
 * of its own reports (the generation it observed, the operation it completed: it remembers both)
 * and without the request ids it only logs (they change with the generation or operation they
 * came with, and an action that ends needs no push).
 * Writes to instance columns the agent does not read do not even wake the watch (their change
 * notification says so: migrations/000011); this catches the rest: a re-read woken by a change
 * that left the view as it was but for its revisions, or by several changes at once. Pushing the
 * view again would only make the agent re-converge on what it already has. A reconnecting agent
 * gets the full view first, so it never depends on a skipped push.
 */
export function agentVisible(view: AgentView): string {
  return JSON.stringify({
    ...view,
    revision: 0,
    instances: view.instances.map((i) => ({ ...i, revision: 0, observed_generation: 0, completed_operation_id: null, request_id: null })),
  });
}
