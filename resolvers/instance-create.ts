import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import { instanceSpecSchema, tagSet, type InstanceSpec } from '../schema/documents/instance.ts';
import type { InstanceRow } from '../store/instances.ts';
import { enqueueBatch } from '../store/jobs.ts';
import { enforceInstancesQuota } from '../store/quotas.ts';
import { findFlavor, findImage, findZone } from '../store/references.ts';
import type { FlavorRow, ImageRow, ZoneRow } from '../store/rows.ts';
import { compact } from './compact.ts';
import { resolveSchedulingSpec, type SchedulingSpec } from './scheduler-instance-spec.ts';
import type { UserPrincipal } from './scope.ts';

/** A createInstance input checked against the catalogue, ready to write. */
export interface PreparedInstance {
  spec: InstanceSpec;
  flavor: FlavorRow;
  image: ImageRow;
  zone: ZoneRow | null;
  scheduling: SchedulingSpec;
}

/**
 * Catalogue look-ups shared by the inputs of one request: a bulk create of a thousand instances
 * of one flavor and image reads each once.
 */
export class CreateLookups {
  private readonly flavors = new Map<string, Promise<FlavorRow | undefined>>();
  private readonly images = new Map<string, Promise<ImageRow | undefined>>();
  private readonly zones = new Map<string, Promise<ZoneRow | undefined>>();

  constructor(
    private readonly ctx: Context,
    private readonly projectId: string,
  ) {}

  flavor(ref: string) {
    return memo(this.flavors, ref, () => findFlavor(this.ctx.sql, ref, this.projectId));
  }
  image(ref: string) {
    return memo(this.images, ref, () => findImage(this.ctx.sql, ref, this.projectId));
  }
  zone(ref: string) {
    return memo(this.zones, ref, () => findZone(this.ctx.sql, ref));
  }
}

function memo<T>(m: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = m.get(key);
  if (!p) m.set(key, (p = load()));
  return p;
}

/**
 * Validates one input and resolves what it names; writes nothing. Errors name the field under
 * `root` (`input`, or `inputs.3` in a bulk create).
 */
export async function prepareInstance(
  ctx: Context,
  user: UserPrincipal,
  input: object & { schedulerHints?: object | null },
  root: string,
  lookups: CreateLookups,
): Promise<PreparedInstance> {
  const hints = input.schedulerHints ? compact(input.schedulerHints) : undefined;
  const spec = validate<InstanceSpec>(instanceSpecSchema, compact({ ...input, schedulerHints: hints }, ['metadata'], root), root);
  const flavor = await lookups.flavor(spec.flavor);
  if (!flavor) throw new NotFoundError('flavor', spec.flavor, `${root}.flavor`);
  const image = await lookups.image(spec.image);
  if (!image) throw new NotFoundError('image', spec.image, `${root}.image`);
  if (image.status !== 'active') {
    throw ValidationError.field(`${root}.image`, `image ${image.name} is ${image.status}, not active (upload its file first)`);
  }
  if (image.min_ram_mb > flavor.ram_mb) {
    throw ValidationError.field(`${root}.flavor`, `flavor ${flavor.name} has ${flavor.ram_mb} MiB RAM; image ${image.name} needs ${image.min_ram_mb}`);
  }
  if (image.min_disk_gb > flavor.disk_gb) {
    throw ValidationError.field(`${root}.flavor`, `flavor ${flavor.name} has a ${flavor.disk_gb} GiB disk; image ${image.name} needs ${image.min_disk_gb}`);
  }
  const zone = spec.zone ? ((await lookups.zone(spec.zone)) ?? null) : null;
  if (spec.zone && !zone) throw new NotFoundError('availability zone', spec.zone, `${root}.zone`);
  const scheduling = await resolveSchedulingSpec(ctx, spec, user, root);
  return { spec, flavor, image, zone, scheduling };
}

/**
 * Writes prepared instances in the caller's transaction, in input order: quotas checked once for
 * all of them under the project's lock, then one statement each for the rows, the group
 * memberships, the create actions and the placement job, however many instances there are.
 */
export async function writeInstances(tx: TxSql, ctx: Context, user: UserPrincipal, prepared: PreparedInstance[]): Promise<InstanceRow[]> {
  await enforceInstancesQuota(
    tx,
    user.projectId,
    prepared.map((p) => ({
      vcpus: p.flavor.vcpus,
      ramMb: p.flavor.ram_mb,
      metadataItems: Object.keys(p.spec.metadata ?? {}).length,
      groupId: p.scheduling.group?.id ?? null,
    })),
  );
  // Ids chosen here so the rows can be returned in input order.
  const records = prepared.map((p) => ({
    id: randomUUID(),
    name: p.spec.name,
    flavor_id: p.flavor.id,
    image_id: p.image.id,
    requested_zone: p.zone?.name ?? null,
    desired_power_state: p.spec.powerState ?? 'running',
    metadata: p.spec.metadata ?? {},
    user_data: p.spec.userData ?? null,
    scheduler_hints: p.scheduling.hints,
    key_name: p.scheduling.keyName,
    key_data: p.scheduling.keyData,
    group_id: p.scheduling.group?.id ?? null,
    tags: tagSet(p.spec.tags ?? []),
  }));
  const rows = await tx<InstanceRow[]>`
    insert into instances (id, project_id, user_id, name, flavor_id, image_id, requested_zone,
                           desired_power_state, metadata, user_data, task_deadline_at,
                           scheduler_hints, key_name, key_data, tags)
    select r.id, ${user.projectId}, ${user.userId}, r.name, r.flavor_id, r.image_id, r.requested_zone,
           r.desired_power_state, r.metadata, r.user_data, now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds}),
           r.scheduler_hints, r.key_name, r.key_data, r.tags
      from jsonb_to_recordset(${tx.json(records as never)}) as r(
             id uuid, name text, flavor_id uuid, image_id uuid, requested_zone text, desired_power_state text,
             metadata jsonb, user_data text, scheduler_hints jsonb, key_name text, key_data text, tags text[])
    returning *`;
  const ids = records.map((r) => r.id);
  const members = records.filter((r) => r.group_id !== null);
  if (members.length > 0) {
    await tx`insert into server_group_members (group_id, instance_id)
             select * from unnest(${members.map((r) => r.group_id!)}::uuid[], ${members.map((r) => r.id)}::uuid[])`;
  }
  await tx`insert into instance_actions (instance_id, project_id, action, request_id, user_id)
           select id, ${user.projectId}, 'create', ${ctx.requestId}, ${user.userId} from unnest(${ids}::uuid[]) as id`;
  await enqueueBatch(tx, 'place_instances', ids);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)!);
}
