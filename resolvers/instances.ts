import { resolveCursorConnection } from '@pothos/plugin-relay';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { transitionTask } from '../core/instance-status.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { instancePatchSchema, instanceSpecSchema, type InstancePatch, type InstanceSpec } from '../schema/documents/instance.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyValueInput } from '../schema/scalars.ts';
import { compact } from './compact.ts';
import { Instance } from '../schema/types/instance.ts';
import { startAction } from '../store/actions.ts';
import { isUuid, type InstanceRow } from '../store/instances.ts';
import { enqueueReconcile } from '../store/jobs.ts';
import { findFlavor, findImage, findZone } from '../store/references.ts';
import { actionName, checkPowerChange } from './instance-guards.ts';
import { readScope, requireUser } from './scope.ts';

const PowerStateEnum = builder.enumType('DesiredPowerState', {
  values: ['running', 'stopped', 'paused', 'suspended'] as const,
});

const InstanceFilter = builder.inputType('InstanceFilter', {
  fields: (t) => ({
    name: t.string({ description: 'Exact name' }),
    status: t.string({ description: 'Derived status, e.g. ACTIVE or ERROR' }),
    vmState: t.string(),
    host: t.string({ description: 'Host name (admins)' }),
    zone: t.string({ description: 'Requested availability zone' }),
  }),
});

const CreateInstanceInput = builder.inputType('CreateInstanceInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    flavor: t.string({ required: true, description: 'Flavor name or ID' }),
    image: t.string({ required: true, description: 'Image name or ID' }),
    zone: t.string({ description: 'Availability zone name' }),
    powerState: t.field({ type: PowerStateEnum, description: 'Default running' }),
    metadata: t.field({ type: [KeyValueInput] }),
    userData: t.string(),
  }),
});

const UpdateInstanceInput = builder.inputType('UpdateInstanceInput', {
  fields: (t) => ({
    name: t.string(),
    powerState: t.field({ type: PowerStateEnum }),
    metadata: t.field({ type: [KeyValueInput], description: 'Replaces the whole metadata map' }),
  }),
});

const STATUS_TO_VM: Record<string, string> = {
  ACTIVE: 'active', BUILD: 'building', SHUTOFF: 'stopped', PAUSED: 'paused', SUSPENDED: 'suspended', ERROR: 'error',
};

/** The caller's own instance (admins: any), locked for the write; not found otherwise, never "forbidden", so ids don't leak. */
async function lockOwnInstance(tx: TxSql, ctx: Context, id: string): Promise<InstanceRow> {
  const user = requireUser(ctx);
  const admin = ctx.policy.allows(ctx.principal, 'instance:list_all_projects');
  const [row] = isUuid(id)
    ? await tx<InstanceRow[]>`select * from instances where id = ${id} and (${admin} or project_id = ${user.projectId}) for update`
    : [];
  if (!row) throw new NotFoundError('instance', id, 'id');
  return row;
}

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
      const page = await resolveCursorConnection<Promise<InstanceRow[]>>(
        { args, toCursor: (i: InstanceRow) => `${i.created_at.toISOString()}|${i.id}` },
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
      const spec = validate<InstanceSpec>(instanceSpecSchema, compact(input, ['metadata']));
      const flavor = await findFlavor(ctx.sql, spec.flavor, user.projectId);
      if (!flavor) throw new NotFoundError('flavor', spec.flavor, 'input.flavor');
      const image = await findImage(ctx.sql, spec.image, user.projectId);
      if (!image) throw new NotFoundError('image', spec.image, 'input.image');
      if (image.status !== 'active') {
        throw ValidationError.field('input.image', `image ${image.name} is ${image.status}, not active (upload its file first)`);
      }
      if (image.min_ram_mb > flavor.ram_mb) {
        throw ValidationError.field('input.flavor', `flavor ${flavor.name} has ${flavor.ram_mb} MiB RAM; image ${image.name} needs ${image.min_ram_mb}`);
      }
      if (image.min_disk_gb > flavor.disk_gb) {
        throw ValidationError.field('input.flavor', `flavor ${flavor.name} has a ${flavor.disk_gb} GiB disk; image ${image.name} needs ${image.min_disk_gb}`);
      }
      const zone = spec.zone ? await findZone(ctx.sql, spec.zone) : null;
      if (spec.zone && !zone) throw new NotFoundError('availability zone', spec.zone, 'input.zone');
      return ctx.sql.begin(async (tx) => {
        const [row] = await tx<InstanceRow[]>`
          insert into instances (project_id, user_id, name, flavor_id, image_id, requested_zone,
                                 desired_power_state, metadata, user_data, task_deadline_at)
          values (${user.projectId}, ${user.userId}, ${spec.name}, ${flavor.id}, ${image.id}, ${zone?.name ?? null},
                  ${spec.powerState ?? 'running'}, ${tx.json(spec.metadata ?? {})}, ${spec.userData ?? null},
                  now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds}))
          returning *`;
        await startAction(tx, { instanceId: row!.id, projectId: user.projectId, action: 'create', requestId: ctx.requestId, userId: user.userId });
        await enqueueReconcile(tx, 'instance', row!.id);
        return row!;
      });
    },
  }),
  updateInstance: t.field({
    type: Instance,
    description: 'Changes the spec (name, power state, metadata); a power change is carried out by the reconciler.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInstanceInput, required: true }) },
    authScopes: { policy: 'instance:update' },
    errors: mutationErrors('UpdateInstance', 'instance'),
    resolve: async (_r, { id, input }, ctx) => {
      const user = requireUser(ctx);
      const patch = validate<InstancePatch>(instancePatchSchema, compact(input, ['metadata']));
      return ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        const to = patch.powerState ?? inst.desired_power_state;
        checkPowerChange(inst, to);
        const changed =
          to !== inst.desired_power_state ||
          (patch.name !== undefined && patch.name !== inst.name) ||
          (patch.metadata !== undefined && JSON.stringify(patch.metadata) !== JSON.stringify(inst.metadata));
        if (!changed) return inst;
        const task = transitionTask(inst.desired_power_state, to);
        const [row] = await tx<InstanceRow[]>`
          update instances set
            name = ${patch.name ?? inst.name},
            metadata = ${tx.json(patch.metadata ?? inst.metadata)},
            desired_power_state = ${to},
            generation = generation + 1,
            task_state = coalesce(${task}::text, task_state),
            task_deadline_at = case when ${task}::text is null then task_deadline_at
                                    else now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds}) end
           where id = ${inst.id}
          returning *`;
        const action = task ? actionName(inst.desired_power_state, to) : 'update';
        await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action, requestId: ctx.requestId, userId: user.userId });
        await enqueueReconcile(tx, 'instance', inst.id);
        return row!;
      });
    },
  }),
  deleteInstance: t.field({
    type: Instance,
    description: 'Requests deletion; the row disappears once the host confirms and allocations are released.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:delete' },
    errors: mutationErrors('DeleteInstance', 'instance'),
    resolve: async (_r, { id }, ctx) => {
      const user = requireUser(ctx);
      return ctx.sql.begin(async (tx) => {
        const inst = await lockOwnInstance(tx, ctx, String(id));
        if (inst.delete_requested_at && inst.task_state === 'deleting') return inst;
        const [row] = await tx<InstanceRow[]>`
          update instances set delete_requested_at = now(), generation = generation + 1, task_state = 'deleting',
                 task_deadline_at = now() + make_interval(secs => ${ctx.config.deleteTimeoutSeconds})
           where id = ${inst.id}
          returning *`;
        await startAction(tx, { instanceId: inst.id, projectId: inst.project_id, action: 'delete', requestId: ctx.requestId, userId: user.userId });
        await enqueueReconcile(tx, 'instance', inst.id);
        return row!;
      });
    },
  }),
}));
