import { resolveArrayConnection } from '@pothos/plugin-relay';
import { ConflictError, NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import { builder } from '../schema/builder.ts';
import { PAGE_SIZE } from '../schema/page-size.ts';
import { hostPatchSchema, type HostPatch } from '../schema/documents/host.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Host, type HostWithUsage } from '../schema/types/host.ts';
import { listHosts } from '../store/hosts.ts';
import { findHost, findZone } from '../store/references.ts';
import { issueToken } from '../store/tokens.ts';
import { requireUser } from './scope.ts';

const HostState = builder.enumType('HostState', { values: ['up', 'down'] as const });

const HostFilter = builder.inputType('HostFilter', {
  fields: (t) => ({ zone: t.string(), state: t.field({ type: HostState }), name: t.string() }),
});

const UpdateHostInput = builder.inputType('UpdateHostInput', {
  description: 'Admin settings of a host; a null ratio goes back to the default.',
  fields: (t) => ({
    zone: t.string({ description: 'Zone name; null takes the host out of its zone' }),
    enabled: t.boolean(),
    disabledReason: t.string(),
    forcedDown: t.boolean(),
    orphanPolicy: t.string({ description: 'remove or keep' }),
    cpuAllocationRatio: t.float(),
    ramAllocationRatio: t.float(),
    diskAllocationRatio: t.float(),
    reservedVcpus: t.int(),
    reservedMemoryMb: t.int(),
    reservedDiskGb: t.int(),
  }),
});

const EnrollmentToken = builder.objectRef<{ id: string; secret: string; expiresAt: Date | null }>('EnrollmentToken').implement({
  description: 'Give the secret to `orrery hostagent --enrollment-token`; it is shown only once.',
  fields: (t) => ({
    id: t.exposeID('id'),
    secret: t.exposeString('secret'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
  }),
});

async function oneHost(ctx: Parameters<typeof listHosts>[0], id: string, down: number): Promise<HostWithUsage> {
  const [h] = await listHosts(ctx, { id }, down);
  return h!;
}

builder.queryFields((t) => ({
  hosts: t.connection({
    type: Host,
    args: { filter: t.arg({ type: HostFilter }) },
    authScopes: { policy: 'host:list' },
    resolve: async (_r, args, ctx) =>
      resolveArrayConnection({ args, ...PAGE_SIZE }, await listHosts(ctx.sql, args.filter ?? {}, ctx.config.serviceDownSeconds)),
  }),
  host: t.field({
    type: Host,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'host:list' },
    resolve: async (_r, { ref }, ctx) => {
      const h = await findHost(ctx.sql, ref);
      return h ? oneHost(ctx.sql, h.id, ctx.config.serviceDownSeconds) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  updateHost: t.field({
    type: Host,
    description: 'Enable or disable a host, move it to a zone, force it down, set ratios or reserved resources.',
    args: { ref: t.arg.string({ required: true }), input: t.arg({ type: UpdateHostInput, required: true }) },
    authScopes: { policy: 'host:update' },
    errors: mutationErrors('UpdateHost', 'host'),
    resolve: async (_r, { ref, input }, ctx) => {
      const patch = validate<HostPatch>(hostPatchSchema, Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
      const host = await findHost(ctx.sql, ref);
      if (!host) throw new NotFoundError('host', ref, 'ref');
      let zoneId = host.zone_id;
      if (patch.zone !== undefined) {
        const zone = patch.zone === null ? null : await findZone(ctx.sql, patch.zone);
        if (patch.zone !== null && !zone) throw new NotFoundError('availability zone', patch.zone, 'input.zone');
        zoneId = zone?.id ?? null;
      }
      const pick = <K extends keyof HostPatch>(k: K, current: unknown) => (patch[k] === undefined ? current : patch[k]);
      const enabled = pick('enabled', host.enabled) as boolean;
      await ctx.sql`
        update hosts set
          zone_id = ${zoneId},
          enabled = ${enabled},
          disabled_reason = ${enabled ? null : (pick('disabledReason', host.disabled_reason) as string | null)},
          forced_down = ${pick('forcedDown', host.forced_down) as boolean},
          orphan_policy = ${pick('orphanPolicy', host.orphan_policy) as string},
          cpu_allocation_ratio = ${pick('cpuAllocationRatio', host.cpu_allocation_ratio) as number | null},
          ram_allocation_ratio = ${pick('ramAllocationRatio', host.ram_allocation_ratio) as number | null},
          disk_allocation_ratio = ${pick('diskAllocationRatio', host.disk_allocation_ratio) as number | null},
          reserved_vcpus = ${pick('reservedVcpus', host.reserved_vcpus) as number},
          reserved_memory_mb = ${pick('reservedMemoryMb', host.reserved_memory_mb) as number},
          reserved_disk_gb = ${pick('reservedDiskGb', host.reserved_disk_gb) as number},
          updated_at = now()
         where id = ${host.id}`;
      return oneHost(ctx.sql, host.id, ctx.config.serviceDownSeconds);
    },
  }),
  deleteHost: t.field({
    type: Host,
    description: 'Forgets a host that runs nothing; its agent must enroll again to come back.',
    args: { ref: t.arg.string({ required: true }) },
    authScopes: { policy: 'host:delete' },
    errors: mutationErrors('DeleteHost', 'host'),
    resolve: async (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const host = await findHost(tx, ref);
        if (!host) throw new NotFoundError('host', ref, 'ref');
        const view = await oneHost(tx, host.id, ctx.config.serviceDownSeconds);
        if (view.instance_count > 0) throw new ConflictError(`host ${host.name} still has ${view.instance_count} instance(s)`);
        await tx`delete from aggregate_hosts where host_id = ${host.id}`;
        await tx`delete from hosts where id = ${host.id}`;
        return view;
      }),
  }),
  createEnrollmentToken: t.field({
    type: EnrollmentToken,
    args: {
      description: t.arg.string(),
      expiresInSeconds: t.arg.int({ description: 'Default: never expires' }),
    },
    authScopes: { policy: 'host:create_enrollment_token' },
    errors: mutationErrors('CreateEnrollmentToken', 'token'),
    resolve: async (_r, args, ctx) => {
      requireUser(ctx);
      const expiresAt = args.expiresInSeconds ? new Date(Date.now() + args.expiresInSeconds * 1000) : null;
      const tok = await issueToken(ctx.sql, {
        kind: 'enrollment',
        description: args.description ?? '',
        expiresAt: expiresAt ?? undefined,
      });
      return { id: tok.id, secret: tok.secret, expiresAt };
    },
  }),
}));
