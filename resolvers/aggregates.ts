import { ConflictError, NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import { aggregateSpecSchema, type AggregateSpec } from '../schema/documents/zone.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { Aggregate, type AggregateView } from '../schema/types/aggregate.ts';
import { isUuid } from '../store/instances.ts';
import { findAggregate, findHost } from '../store/references.ts';
import { compact } from './compact.ts';
import { uniqueViolation } from './sql-errors.ts';

const AggregateInput = builder.inputType('AggregateInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    metadata: t.field({ type: [KeyValueInput] }),
    hosts: t.stringList({ description: 'Host names or IDs' }),
  }),
});

const AggregatePatch = builder.inputType('AggregatePatch', {
  description: 'Absent fields stay as they are; a given list replaces the whole map or membership.',
  fields: (t) => ({
    name: t.string(),
    metadata: t.field({ type: [KeyValueInput] }),
    hosts: t.stringList({ description: 'Host names or IDs' }),
  }),
});

/** Aggregates with their host names in one query; all of them, or the one with this id. */
async function loadAggregates(sql: Sql | TxSql, id: string | null): Promise<AggregateView[]> {
  return sql<AggregateView[]>`
    select a.*, coalesce(array_agg(h.name order by h.name) filter (where h.id is not null), '{}') as hosts
      from aggregates a
      left join aggregate_hosts ah on ah.aggregate_id = a.id
      left join hosts h on h.id = ah.host_id
     where ${id}::uuid is null or a.id = ${id}::uuid
     group by a.id
     order by a.name`;
}

/** Host refs (names or IDs) to IDs in one query; the first unknown one is named by its index. */
async function resolveHosts(tx: TxSql, refs: readonly string[], field: string): Promise<string[]> {
  const rows = await tx<{ id: string; name: string }[]>`
    select id, name from hosts where name = any(${refs}::text[]) or id = any(${refs.filter(isUuid)}::uuid[])`;
  return refs.map((ref, i) => {
    const host = rows.find((h) => h.name === ref || h.id === ref.toLowerCase());
    if (!host) throw new NotFoundError('host', ref, `${field}[${i}]`);
    return host.id;
  });
}

async function setMembers(tx: TxSql, aggregateId: string, hostIds: string[]): Promise<void> {
  await tx`delete from aggregate_hosts where aggregate_id = ${aggregateId} and host_id <> all(${hostIds}::uuid[])`;
  await tx`
    insert into aggregate_hosts (aggregate_id, host_id)
    select ${aggregateId}, unnest(${hostIds}::uuid[]) on conflict do nothing`;
}

function duplicateName(e: unknown, name: string): never {
  if (uniqueViolation(e)) throw new ConflictError(`an aggregate named ${JSON.stringify(name)} already exists`);
  throw e;
}

async function lookup(tx: TxSql, aggregateRef: string, hostRef: string) {
  const aggregate = await findAggregate(tx, aggregateRef);
  if (!aggregate) throw new NotFoundError('aggregate', aggregateRef, 'aggregate');
  const host = await findHost(tx, hostRef);
  if (!host) throw new NotFoundError('host', hostRef, 'host');
  return { aggregate, host };
}

builder.queryFields((t) => ({
  aggregates: t.field({
    type: [Aggregate],
    authScopes: { policy: 'aggregate:list' },
    resolve: (_r, _a, ctx) => loadAggregates(ctx.sql, null),
  }),
  aggregate: t.field({
    type: Aggregate,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'aggregate:list' },
    resolve: async (_r, { ref }, ctx) => {
      const found = await findAggregate(ctx.sql, ref);
      return found ? ((await loadAggregates(ctx.sql, found.id))[0] ?? null) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createAggregate: t.field({
    type: Aggregate,
    args: { input: t.arg({ type: AggregateInput, required: true }) },
    authScopes: { policy: 'aggregate:create' },
    errors: mutationErrors('CreateAggregate', 'aggregate'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<AggregateSpec>(aggregateSpecSchema, compact(input, ['metadata']));
      return ctx.sql.begin(async (tx) => {
        const hostIds = await resolveHosts(tx, s.hosts ?? [], 'input.hosts');
        const [row] = await tx<{ id: string }[]>`
          insert into aggregates (name, metadata) values (${s.name}, ${tx.json(s.metadata ?? {})})
          returning id`.catch((e: unknown) => duplicateName(e, s.name));
        await setMembers(tx, row!.id, hostIds);
        return (await loadAggregates(tx, row!.id))[0]!;
      });
    },
  }),
  updateAggregate: t.field({
    type: Aggregate,
    args: {
      ref: t.arg.string({ required: true, description: 'Name or ID' }),
      input: t.arg({ type: AggregatePatch, required: true }),
    },
    authScopes: { policy: 'aggregate:update' },
    errors: mutationErrors('UpdateAggregate', 'aggregate'),
    resolve: (_r, { ref, input }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const found = await findAggregate(tx, ref);
        if (!found) throw new NotFoundError('aggregate', ref, 'ref');
        const s = validate<AggregateSpec>(aggregateSpecSchema, { name: found.name, metadata: found.metadata, ...compact(input, ['metadata']) });
        if (s.hosts) await setMembers(tx, found.id, await resolveHosts(tx, s.hosts, 'input.hosts'));
        await tx`update aggregates set name = ${s.name}, metadata = ${tx.json(s.metadata ?? {})} where id = ${found.id}`
          .catch((e: unknown) => duplicateName(e, s.name));
        return (await loadAggregates(tx, found.id))[0]!;
      }),
  }),
  deleteAggregate: t.field({
    type: Aggregate,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'aggregate:delete' },
    errors: mutationErrors('DeleteAggregate', 'aggregate'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const found = await findAggregate(tx, ref);
        if (!found) throw new NotFoundError('aggregate', ref, 'ref');
        const view = (await loadAggregates(tx, found.id))[0]!;
        await tx`delete from aggregates where id = ${found.id}`;
        return view;
      }),
  }),
  addHostToAggregate: t.field({
    type: Aggregate,
    args: { aggregate: t.arg.string({ required: true }), host: t.arg.string({ required: true }) },
    authScopes: { policy: 'aggregate:update' },
    errors: mutationErrors('AddHostToAggregate', 'aggregate'),
    resolve: (_r, args, ctx) =>
      ctx.sql.begin(async (tx) => {
        const { aggregate, host } = await lookup(tx, args.aggregate, args.host);
        const added = await tx`
          insert into aggregate_hosts (aggregate_id, host_id) values (${aggregate.id}, ${host.id}) on conflict do nothing returning host_id`;
        if (added.length === 0) throw new ConflictError(`host ${host.name} is already in aggregate ${aggregate.name}`);
        return (await loadAggregates(tx, aggregate.id))[0]!;
      }),
  }),
  removeHostFromAggregate: t.field({
    type: Aggregate,
    args: { aggregate: t.arg.string({ required: true }), host: t.arg.string({ required: true }) },
    authScopes: { policy: 'aggregate:update' },
    errors: mutationErrors('RemoveHostFromAggregate', 'aggregate'),
    resolve: (_r, args, ctx) =>
      ctx.sql.begin(async (tx) => {
        const { aggregate, host } = await lookup(tx, args.aggregate, args.host);
        const removed = await tx`
          delete from aggregate_hosts where aggregate_id = ${aggregate.id} and host_id = ${host.id} returning host_id`;
        if (removed.length === 0) throw new ConflictError(`host ${host.name} is not in aggregate ${aggregate.name}`);
        return (await loadAggregates(tx, aggregate.id))[0]!;
      }),
  }),
}));
