import type { AgentView } from '../store/agent-view.ts';

/**
 * What an agent acts on in its view: the view without its change revisions and without the echo
 * of its own reports (the generation it observed, the operation it completed: it remembers both).
 * Every write to an instance moves a revision, but many writes change nothing the agent reads (the
 * reconciler setting ACTIVE after a build, a fault text, the report it just sent); pushing the view
 * again for those only makes the agent re-read and re-converge on what it already has. A
 * reconnecting agent gets the full view first, so it never depends on a skipped push.
 */
export function agentVisible(view: AgentView): string {
  return JSON.stringify({
    ...view,
    revision: 0,
    instances: view.instances.map((i) => ({ ...i, revision: 0, observed_generation: 0, completed_operation_id: null })),
  });
}
