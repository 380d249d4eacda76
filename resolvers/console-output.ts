import { NotFoundError, ValidationError } from '../core/errors.ts';
import { builder } from '../schema/builder.ts';
import { isUuid } from '../store/instances.ts';
import { requireUser } from './scope.ts';

const ConsoleOutput = builder.objectRef<{ output: string; updatedAt: Date }>('ConsoleOutput').implement({
  description: "The tail of the guest's serial console as its host last pushed it (every few seconds while it runs).",
  fields: (t) => ({ output: t.exposeString('output'), updatedAt: t.expose('updatedAt', { type: 'DateTime' }) }),
});

builder.queryField('consoleOutput', (t) =>
  t.field({
    type: ConsoleOutput,
    nullable: true,
    description: "Nova's os-getConsoleOutput: the last `lines` lines (default 50, at most 1000); null before the host sent any.",
    args: { instanceId: t.arg.id({ required: true }), lines: t.arg.int() },
    authScopes: { policy: 'instance:console_output' },
    resolve: async (_r, { instanceId, lines }, ctx) => {
      const user = requireUser(ctx);
      const n = lines ?? 50;
      if (n < 1 || n > 1000) throw ValidationError.field('lines', 'must be between 1 and 1000');
      const id = String(instanceId);
      const admin = ctx.policy.allows(ctx.principal, 'instance:list_all_projects');
      const [inst] = isUuid(id)
        ? await ctx.sql<{ output: string | null; updated_at: Date | null }[]>`
            select c.output, c.updated_at from instances i left join instance_consoles c on c.instance_id = i.id
             where i.id = ${id} and (${admin} or i.project_id = ${user.projectId})`
        : [];
      if (!inst) throw new NotFoundError('instance', id, 'instanceId');
      if (inst.output === null) return null;
      const all = inst.output.replace(/\n$/, '').split('\n');
      return { output: all.slice(-n).join('\n'), updatedAt: inst.updated_at! };
    },
  }),
);
