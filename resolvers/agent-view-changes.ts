import type { AgentView } from '../store/agent-view.ts';

/**
 * What an agent acts on in its view: the view without its change revisions. Every write to an
 * instance moves a revision, but many writes change nothing the agent reads (the reconciler
 * setting ACTIVE after a build, a fault text); pushing the view again for those only makes the
 * agent re-read and re-converge on what it already has — one push in three at fleet scale. A
 * reconnecting agent gets the full view first, so it never depends on a skipped revision.
 */
export function agentVisible(view: AgentView): string {
  return JSON.stringify({ ...view, revision: 0, instances: view.instances.map((i) => ({ ...i, revision: 0 })) });
}
