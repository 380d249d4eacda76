import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { Instance } from '../schema/types/instance.ts';
import { deriveStatus } from '../core/instance-status.ts';
import type { Change } from '../server/change-feed.ts';
import { isUuid, type InstanceRow } from '../store/instances.ts';
import { readScope, requireUser } from './scope.ts';
import { endingWith } from './ending-with.ts';

interface InstanceEventShape {
  type: 'SNAPSHOT' | 'UPDATED' | 'DELETED';
  instanceId: string;
  instance: InstanceRow | null;
}

const InstanceEventType = builder.enumType('InstanceEventType', { values: ['SNAPSHOT', 'UPDATED', 'DELETED'] as const });

const InstanceEvent = builder.objectRef<InstanceEventShape>('InstanceEvent').implement({
  description: 'A change to an instance. SNAPSHOT is its state when you subscribed; DELETED has no instance.',
  fields: (t) => ({
    type: t.field({ type: InstanceEventType, resolve: (e) => e.type }),
    instanceId: t.exposeID('instanceId'),
    instance: t.field({ type: Instance, nullable: true, resolve: (e) => e.instance }),
  }),
});

const InstanceEventFilter = builder.inputType('InstanceEventFilter', {
  fields: (t) => ({
    ids: t.idList({ description: 'Only these instances' }),
    status: t.string({ description: 'Only events whose instance now has this status' }),
    allProjects: t.boolean({ description: 'Admins: every project' }),
  }),
});

async function readVisible(ctx: Context, id: string, project: string | null): Promise<InstanceRow | null> {
  const [row] = await ctx.sql<InstanceRow[]>`
    select * from instances where id = ${id} and (${project}::uuid is null or project_id = ${project}::uuid)`;
  return row ?? null;
}

/** The instance changes a subscriber in `project` (null: every project) may see and asked for. */
function instanceChanges(ctx: Context, project: string | null, accept: (c: Change) => boolean): AsyncIterableIterator<Change> {
  return ctx.changes.subscribe((c) => c.kind === 'instance' && (project === null || c.projectId === project) && accept(c));
}

/**
 * Turns change keys into events by re-reading the row: a notification only says "look again", so
 * merged or reordered notifications never show a stale state.
 */
async function* instanceEvents(
  ctx: Context,
  project: string | null,
  changes: AsyncIterableIterator<Change>,
  snapshotIds: string[],
): AsyncGenerator<InstanceEventShape> {
  try {
    for (const id of snapshotIds) {
      const row = await readVisible(ctx, id, project);
      yield row ? { type: 'SNAPSHOT', instanceId: id, instance: row } : { type: 'DELETED', instanceId: id, instance: null };
    }
    for await (const c of changes) {
      const row = c.deleted ? null : await readVisible(ctx, c.id, project);
      yield row ? { type: 'UPDATED', instanceId: c.id, instance: row } : { type: 'DELETED', instanceId: c.id, instance: null };
    }
  } finally {
    await changes.return?.();
  }
}

async function* nothing(): AsyncGenerator<InstanceEventShape> {}

async function* untilDeleted(events: AsyncGenerator<InstanceEventShape>): AsyncGenerator<InstanceEventShape> {
  for await (const e of events) {
    yield e;
    if (e.type === 'DELETED') return;
  }
}

async function* withStatus(events: AsyncGenerator<InstanceEventShape>, status: string | null | undefined): AsyncGenerator<InstanceEventShape> {
  for await (const e of events) {
    if (status && (!e.instance || deriveStatus(e.instance.vm_state, e.instance.task_state) !== status)) continue;
    yield e;
  }
}

builder.subscriptionFields((t) => ({
  instanceUpdated: t.field({
    type: InstanceEvent,
    description: 'One instance: its current state first, then every change, ending with DELETED.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:subscribe' },
    subscribe: (_r, { id }, ctx) => {
      const user = requireUser(ctx);
      const project = ctx.policy.allows(ctx.principal, 'instance:list_all_projects') ? null : user.projectId;
      const wanted = String(id);
      if (!isUuid(wanted)) return nothing(); // not an instance id: the subscription ends at once
      const changes = instanceChanges(ctx, project, (c) => c.id === wanted);
      return endingWith(changes, untilDeleted(instanceEvents(ctx, project, changes, [wanted])));
    },
    resolve: (e: InstanceEventShape) => e,
  }),
  instanceEvents: t.field({
    type: InstanceEvent,
    description: "Changes to your project's instances as they happen.",
    args: { filter: t.arg({ type: InstanceEventFilter }) },
    authScopes: { policy: 'instance:subscribe' },
    subscribe: (_r, { filter }, ctx) => {
      const project = readScope(ctx, filter?.allProjects, 'instance:list_all_projects');
      const ids = filter?.ids?.map(String) ?? null;
      const changes = instanceChanges(ctx, project, (c) => ids === null || ids.includes(c.id));
      return endingWith(changes, withStatus(instanceEvents(ctx, project, changes, []), filter?.status));
    },
    resolve: (e: InstanceEventShape) => e,
  }),
}));
