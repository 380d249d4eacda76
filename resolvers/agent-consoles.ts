import { builder } from '../schema/builder.ts';
import { ConsoleTypeEnum } from '../schema/types/console.ts';
import type { PendingConsoleSession } from '../store/console-tokens.ts';
import { consoleSessionReads } from '../server/console-session-reads.ts';
import { requireHost } from './scope.ts';
import { latestOnChange } from './latest-on-change.ts';

const AgentConsoleSession = builder.objectRef<PendingConsoleSession>('AgentConsoleSession').implement({
  description: "A client waits on the proxy for this instance's console: open it locally and dial the session back.",
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    type: t.field({ type: ConsoleTypeEnum, resolve: (s) => s.kind }),
    relayUrl: t.exposeString('relayUrl', { nullable: true, description: "The API process to dial; null: the agent's own API address" }),
  }),
});

/**
 * Console sessions travel apart from agentAssignments: they are short-lived and a client waits on
 * each, and putting them in the host's view would make every console opened re-read the host's
 * whole view (networks and all) and run a converge pass over every instance on it.
 */
builder.subscriptionField('agentConsoleSessions', (t) =>
  t.field({
    type: [AgentConsoleSession],
    description: 'The console sessions waiting for the calling host now, then again whenever they change.',
    authScopes: { policy: 'agent:console' },
    subscribe: (_r, _a, ctx): AsyncIterableIterator<PendingConsoleSession[]> => {
      const { hostId } = requireHost(ctx);
      const sessions = consoleSessionReads(ctx.sql, ctx.config.consoleHostDialSeconds);
      return latestOnChange(ctx.changes.subscribeHostConsoles(hostId), () => sessions.read(hostId), (s) => JSON.stringify(s));
    },
    resolve: (s: PendingConsoleSession[]) => s,
  }),
);
