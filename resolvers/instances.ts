import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../schema/builder.ts';
import { PAGE_SIZE } from '../schema/page-size.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { Instance, PowerStateEnum } from '../schema/types/instance.ts';
import { isUuid, type InstanceRow } from '../store/instances.ts';
import { CreateLookups, prepareInstance, writeInstances } from './instance-create.ts';
import { SchedulerHintsInput } from '../schema/types/scheduler.ts';
import { InstanceNicInput } from '../schema/types/network.ts';
import { readScope, requireUser } from './scope.ts';

const InstanceFilter = builder.inputType('InstanceFilter', {
  fields: (t) => ({
    name: t.string({ description: 'Exact name' }),
    status: t.string({ description: 'Derived status, e.g. ACTIVE or ERROR' }),
    vmState: t.string(),
    host: t.string({ description: 'Host name (admins)' }),
    zone: t.string({ description: 'Requested availability zone' }),
    tags: t.stringList({ description: 'Instances carrying every one of these tags (Nova: tags)' }),
    tagsAny: t.stringList({ description: 'Instances carrying at least one of these tags (Nova: tags-any)' }),
    notTags: t.stringList({ description: 'Instances not carrying all of these tags together (Nova: not-tags)' }),
    notTagsAny: t.stringList({ description: 'Instances carrying none of these tags (Nova: not-tags-any)' }),
  }),
});

export const CreateInstanceInput = builder.inputType('CreateInstanceInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    flavor: t.string({ required: true, description: 'Flavor name or ID' }),
    image: t.string({ required: true, description: 'Image name or ID' }),
    zone: t.string({ description: 'Availability zone name' }),
    powerState: t.field({ type: PowerStateEnum, description: 'Default running' }),
    metadata: t.field({ type: [KeyValueInput] }),
    userData: t.string({ description: 'Kept byte for byte (no Unicode normalisation)', extensions: { verbatim: true } }),
    serverGroup: t.string({ description: 'Server group name or ID (your project)' }),
    schedulerHints: t.field({ type: SchedulerHintsInput }),
    keyName: t.string({ description: "One of your key pairs; its public key reaches the guest's metadata (public_keys)" }),
    configDrive: t.boolean({ description: "Nova's config drive: the guest's metadata also on a read-only CD-ROM labelled config-2 (default false)" }),
    tags: t.stringList({ description: "Nova's server tags: each 1-60 characters, no '/' or ',', at most 50; duplicates collapse" }),
    networks: t.field({
      type: [InstanceNicInput],
      description: "The NICs, in order; absent: one on your project's network if it has exactly one",
    }),
  }),
});

/** A tag filter as SQL wants it: null when not given, since an empty list would match (or exclude) everything. */
const tagFilter = (tags: readonly string[] | null | undefined): string[] | null => (tags && tags.length > 0 ? [...tags] : null);

const STATUS_TO_VM: Record<string, string> = {
  ACTIVE: 'active', BUILD: 'building', SHUTOFF: 'stopped', PAUSED: 'paused', SUSPENDED: 'suspended', ERROR: 'error',
};

builder.queryFields((t) => ({
  instances: t.connection({
    type: Instance,
    description: "Your project's instances, oldest first (all projects for admins who ask).",
    args: { filter: t.arg({ type: InstanceFilter }), allProjects: t.arg.boolean() },
    authScopes: { policy: 'instance:list' },
    resolve: async (_r, args, ctx) => {
      const project = readScope(ctx, args.allProjects, 'instance:list_all_projects');
      const f = args.filter ?? {};
      const vm = f.status ? (STATUS_TO_VM[f.status] ?? '-') : (f.vmState ?? null);
      const [allOf, anyOf, notAllOf, noneOf] = [f.tags, f.tagsAny, f.notTags, f.notTagsAny].map(tagFilter);
      const page = await resolveCursorConnection<Promise<InstanceRow[]>>(
        { args, ...PAGE_SIZE, toCursor: (i: InstanceRow) => `${i.created_at.toISOString()}|${i.id}` },
        async ({ before, after, limit, inverted }): Promise<InstanceRow[]> => {
          const [aTime, aId] = after ? after.split('|') : [null, null];
          const [bTime, bId] = before ? before.split('|') : [null, null];
          const rows = await ctx.sql<InstanceRow[]>`
            select i.* from instances i
              left join hosts h on h.id = i.host_id
             where (${project}::uuid is null or i.project_id = ${project}::uuid)
               and (${f.name ?? null}::text is null or i.name = ${f.name ?? null})
               and (${vm}::text is null or i.vm_state = ${vm})
               and (${f.host ?? null}::text is null or h.name = ${f.host ?? null})
               and (${f.zone ?? null}::text is null or i.requested_zone = ${f.zone ?? null})
               and (${allOf}::text[] is null or i.tags @> ${allOf}::text[])
               and (${anyOf}::text[] is null or i.tags && ${anyOf}::text[])
               and (${notAllOf}::text[] is null or not i.tags @> ${notAllOf}::text[])
               and (${noneOf}::text[] is null or not i.tags && ${noneOf}::text[])
               and (${aTime}::timestamptz is null or (i.created_at, i.id) > (${aTime}::timestamptz, ${aId}::uuid))
               and (${bTime}::timestamptz is null or (i.created_at, i.id) < (${bTime}::timestamptz, ${bId}::uuid))
             order by ${inverted ? ctx.sql`i.created_at desc, i.id desc` : ctx.sql`i.created_at, i.id`}
             limit ${limit}`;
          return [...rows];
        },
      );
      return page!;
    },
  }),
  instance: t.field({
    type: Instance,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:get' },
    resolve: async (_r, { id }, ctx) => {
      const user = requireUser(ctx);
      const admin = ctx.policy.allows(ctx.principal, 'instance:list_all_projects');
      if (!isUuid(String(id))) return null;
      const [row] = await ctx.sql<InstanceRow[]>`
        select * from instances where id = ${String(id)} and (${admin} or project_id = ${user.projectId})`;
      return row ?? null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createInstance: t.field({
    type: Instance,
    description: 'Writes the spec and enqueues its reconcile; the instance builds in the background (watch it).',
    args: { input: t.arg({ type: CreateInstanceInput, required: true }) },
    authScopes: { policy: 'instance:create' },
    errors: mutationErrors('CreateInstance', 'instance'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const prepared = await prepareInstance(input, 'input', new CreateLookups(ctx, user));
      const [row] = await ctx.sql.begin((tx) => writeInstances(tx, ctx, user, [prepared]));
      return row!;
    },
  }),
}));
