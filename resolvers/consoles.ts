import { ConflictError } from '../core/errors.ts';
import { describeState } from '../core/operation-guards.ts';
import { builder } from '../schema/builder.ts';
import { mutationErrors } from '../schema/errors.ts';
import { ConsoleTypeEnum, RemoteConsole } from '../schema/types/console.ts';
import { issueConsoleToken } from '../store/console-tokens.ts';
import { lockOwnInstance } from './instance-access.ts';
import { requireUser } from './scope.ts';

/** Guests with a screen and a serial port to show: running, or paused (frozen, still on its host). */
const SHOWN_POWER_STATES = ['running', 'paused'];

builder.mutationField('createConsole', (t) =>
  t.field({
    type: RemoteConsole,
    description:
      "Nova's os-remote-consoles: a one-time URL to the instance's VNC screen or serial console, bound to the instance and the host it runs on now, expiring after ORRERY_CONSOLE_TOKEN_TTL_SECONDS (default 600). Open it as a WebSocket; after a move, ask for a new one.",
    args: {
      instance: t.arg.id({ required: true }),
      type: t.arg({ type: ConsoleTypeEnum, required: true }),
    },
    authScopes: { policy: 'instance:create_console' },
    errors: mutationErrors('CreateConsole', 'console'),
    resolve: async (_r, { instance, type }, ctx) => {
      const user = requireUser(ctx);
      return ctx.sql.begin(async (tx) => {
        // The instance's row lock orders this against a move binding it elsewhere.
        const inst = await lockOwnInstance(tx, ctx, String(instance), { field: 'instance' });
        if (inst.delete_requested_at) throw new ConflictError(`instance ${inst.name} is being deleted`, describeState(inst));
        if (!inst.host_id) throw new ConflictError(`instance ${inst.name} is on no host, so it has no console`, describeState(inst));
        if (!SHOWN_POWER_STATES.includes(inst.power_state)) {
          throw new ConflictError(`instance ${inst.name} is not running (power state ${inst.power_state}), so it has no console`,
            `${describeState(inst)}, power_state=${inst.power_state}`);
        }
        const issued = await issueConsoleToken(tx, {
          instanceId: inst.id, hostId: inst.host_id, projectId: inst.project_id, kind: type, userId: user.userId,
          ttlSeconds: ctx.config.consoleTokenTtlSeconds,
        });
        return { kind: type, url: ctx.consoles.clientUrl(issued.secret), expiresAt: issued.expiresAt };
      });
    },
  }),
);
