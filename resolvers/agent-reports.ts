import { ValidationError } from '../core/errors.ts';
import { MAX_CONSOLE_BYTES } from '../core/text.ts';
import { builder } from '../schema/builder.ts';
import { fromPairs, KeyValueInput } from '../schema/scalars.ts';
import { enqueueReconcile } from '../store/jobs.ts';
import { isUuid } from '../store/instances.ts';
import { requireHost } from './scope.ts';

const ConsoleReportInput = builder.inputType('ConsoleReportInput', {
  fields: (t) => ({ id: t.id({ required: true }), output: t.string({ required: true, extensions: { verbatim: true } }) }),
});

const OrphanAction = builder.enumType('OrphanAction', { values: ['removed', 'kept'] as const });

const OrphanReportInput = builder.inputType('OrphanReportInput', {
  fields: (t) => ({
    id: t.id({ required: true, description: 'Domain UUID' }),
    powerState: t.string({ required: true }),
    action: t.field({ type: OrphanAction, required: true }),
  }),
});

builder.mutationFields((t) => ({
  reportMigrationPrepared: t.boolean({
    description:
      'The destination of a live migration says it is ready for the guest (with what the source must know), or why it cannot be. False when the migration is not one this host is preparing.',
    args: {
      migration: t.arg.id({ required: true }),
      prepared: t.arg({ type: [KeyValueInput], description: "What the destination's driver made ready" }),
      failure: t.arg.string({ description: 'Why the destination cannot receive the guest' }),
    },
    authScopes: { policy: 'agent:report' },
    resolve: async (_r, args, ctx) => {
      const { hostId } = requireHost(ctx);
      const id = String(args.migration);
      if (!isUuid(id)) throw ValidationError.field('migration', 'must be a migration id');
      const prepared = fromPairs(args.prepared ?? [], 'prepared');
      const failure = args.failure?.slice(0, 2000) ?? null;
      return ctx.sql.begin(async (tx) => {
        const [m] = await tx<{ instance_id: string }[]>`
          update migrations set status = ${failure === null ? 'prepared' : 'error'}, dest_prepared = ${tx.json(prepared)},
                 failure = ${failure}, updated_at = now()
           where id = ${id} and dest_host_id = ${hostId} and kind = 'live-migration' and status = 'preparing'
          returning instance_id`;
        if (!m) return false;
        await enqueueReconcile(tx, 'instance', m.instance_id);
        return true;
      });
    },
  }),
  reportConsoles: t.int({
    description: 'Console tails of guests on the calling host; returns how many were stored (others are not bound to it).',
    args: { consoles: t.arg({ type: [ConsoleReportInput], required: true }) },
    authScopes: { policy: 'agent:report' },
    resolve: async (_r, { consoles }, ctx) => {
      const { hostId } = requireHost(ctx);
      consoles.forEach((c, i) => {
        if (Buffer.byteLength(c.output) > MAX_CONSOLE_BYTES) throw ValidationError.field(`consoles[${i}].output`, `at most ${MAX_CONSOLE_BYTES} bytes`);
      });
      const rows = consoles.map((c) => ({ id: String(c.id), output: c.output }));
      const stored = await ctx.sql`
        insert into instance_consoles (instance_id, output, updated_at)
        select i.id, r.output, now()
          from jsonb_to_recordset(${ctx.sql.json(rows as never)}) as r(id uuid, output text)
          join instances i on i.id = r.id and i.host_id = ${hostId}
        on conflict (instance_id) do update set output = excluded.output, updated_at = now()`;
      return stored.count;
    },
  }),
  reportOrphans: t.int({
    description: 'Orrery domains the calling host found but does not run for anyone, and what it did with them.',
    args: { orphans: t.arg({ type: [OrphanReportInput], required: true }) },
    authScopes: { policy: 'agent:report' },
    resolve: async (_r, { orphans }, ctx) => {
      const { hostId } = requireHost(ctx);
      const rows = orphans.map((o) => ({ id: String(o.id), power_state: o.powerState, action: o.action }));
      const r = await ctx.sql`
        insert into host_orphans (host_id, domain_uuid, power_state, action)
        select ${hostId}, x.id, x.power_state, x.action
          from jsonb_to_recordset(${ctx.sql.json(rows as never)}) as x(id uuid, power_state text, action text)
        on conflict (host_id, domain_uuid) do update
          set power_state = excluded.power_state, action = excluded.action, last_seen_at = now()`;
      const removed = rows.filter((o) => o.action === 'removed').map((o) => o.id);
      await ctx.sql`delete from host_fences where host_id = ${hostId} and instance_id = any(${removed}::uuid[])`;
      return r.count;
    },
  }),
}));
