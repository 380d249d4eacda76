import { ConflictError, NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import { zoneSpecSchema, type ZoneSpec } from '../schema/documents/zone.ts';
import { mutationErrors } from '../schema/errors.ts';
import { AvailabilityZone, type ZoneView } from '../schema/types/zone.ts';
import { findZone } from '../store/references.ts';
import { compact } from './compact.ts';
import { foreignKeyViolation, uniqueViolation } from './sql-errors.ts';

const AvailabilityZoneInput = builder.inputType('AvailabilityZoneInput', {
  fields: (t) => ({ name: t.string({ required: true }), description: t.string() }),
});

const AvailabilityZonePatch = builder.inputType('AvailabilityZonePatch', {
  description: 'Absent fields stay as they are.',
  fields: (t) => ({ name: t.string(), description: t.string() }),
});

/** Zones with their host names in one query; all of them, or the one with this id. */
async function loadZones(sql: Sql | TxSql, id: string | null): Promise<ZoneView[]> {
  return sql<ZoneView[]>`
    select z.*, coalesce(array_agg(h.name order by h.name) filter (where h.id is not null), '{}') as hosts
      from availability_zones z left join hosts h on h.zone_id = z.id
     where ${id}::uuid is null or z.id = ${id}::uuid
     group by z.id
     order by z.name`;
}

/** Instances (not being deleted) that name the zone; they would lose it on a rename or delete. */
async function instancesRequesting(tx: TxSql, zoneName: string): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    select count(*)::int as n from instances where requested_zone = ${zoneName} and delete_requested_at is null`;
  return row!.n;
}

function duplicateName(e: unknown, name: string): never {
  if (uniqueViolation(e)) throw new ConflictError(`an availability zone named ${JSON.stringify(name)} already exists`);
  throw e;
}

builder.queryFields((t) => ({
  availabilityZones: t.field({
    type: [AvailabilityZone],
    authScopes: { policy: 'zone:list' },
    resolve: (_r, _a, ctx) => loadZones(ctx.sql, null),
  }),
  availabilityZone: t.field({
    type: AvailabilityZone,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'zone:list' },
    resolve: async (_r, { ref }, ctx) => {
      const zone = await findZone(ctx.sql, ref);
      return zone ? ((await loadZones(ctx.sql, zone.id))[0] ?? null) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createAvailabilityZone: t.field({
    type: AvailabilityZone,
    args: { input: t.arg({ type: AvailabilityZoneInput, required: true }) },
    authScopes: { policy: 'zone:create' },
    errors: mutationErrors('CreateAvailabilityZone', 'availabilityZone'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<ZoneSpec>(zoneSpecSchema, compact(input));
      const [row] = await ctx.sql<ZoneView[]>`
        insert into availability_zones (name, description) values (${s.name}, ${s.description ?? ''})
        returning *, '{}'::text[] as hosts`.catch((e: unknown) => duplicateName(e, s.name));
      return row!;
    },
  }),
  updateAvailabilityZone: t.field({
    type: AvailabilityZone,
    args: {
      ref: t.arg.string({ required: true, description: 'Name or ID' }),
      input: t.arg({ type: AvailabilityZonePatch, required: true }),
    },
    authScopes: { policy: 'zone:update' },
    errors: mutationErrors('UpdateAvailabilityZone', 'availabilityZone'),
    resolve: (_r, { ref, input }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const zone = await findZone(tx, ref);
        if (!zone) throw new NotFoundError('availability zone', ref, 'ref');
        const s = validate<ZoneSpec>(zoneSpecSchema, { name: zone.name, description: zone.description, ...compact(input) });
        // Instances name their zone; renaming it under them would strand them (Nova refuses too).
        if (s.name !== zone.name && (await instancesRequesting(tx, zone.name)) > 0) {
          throw new ConflictError(`instances request zone ${zone.name}; it cannot be renamed while they exist`);
        }
        await tx`update availability_zones set name = ${s.name}, description = ${s.description ?? ''} where id = ${zone.id}`
          .catch((e: unknown) => duplicateName(e, s.name));
        return (await loadZones(tx, zone.id))[0]!;
      }),
  }),
  deleteAvailabilityZone: t.field({
    type: AvailabilityZone,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'zone:delete' },
    errors: mutationErrors('DeleteAvailabilityZone', 'availabilityZone'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const found = await findZone(tx, ref);
        if (!found) throw new NotFoundError('availability zone', ref, 'ref');
        const zone = (await loadZones(tx, found.id))[0]!;
        if (zone.hosts.length > 0) {
          throw new ConflictError(`zone ${zone.name} still holds host(s) ${zone.hosts.join(', ')}; move them out first`);
        }
        const requesting = await instancesRequesting(tx, zone.name);
        if (requesting > 0) throw new ConflictError(`zone ${zone.name} is requested by ${requesting} instance(s)`);
        // A host moved into the zone meanwhile trips the foreign key: still a conflict, not a 500.
        await tx`delete from availability_zones where id = ${zone.id}`.catch((e: unknown) => {
          if (foreignKeyViolation(e)) throw new ConflictError(`zone ${zone.name} gained a host; move it out first`);
          throw e;
        });
        return zone;
      }),
  }),
}));
