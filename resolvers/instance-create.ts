import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { flavorRefusal } from '../core/image-disk.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import { instanceSpecSchema, tagSet, type InstanceSpec } from '../schema/documents/instance.ts';
import type { InstanceRow } from '../store/instances.ts';
import type { NetworkRow } from '../store/networks.ts';
import { enqueueBatch } from '../store/jobs.ts';
import { enforceInstancesQuota } from '../store/quotas.ts';
import { findFlavor, findImage, findZone } from '../store/references.ts';
import type { KeyPairRow } from '../store/key-pairs.ts';
import type { FlavorRow, ImageRow, ZoneRow } from '../store/rows.ts';
import type { ServerGroupRow } from '../store/server-groups.ts';
import { compact } from './compact.ts';
import { prepareNics, soleProjectNetwork, writeNic, type PreparedNic } from './instance-nics.ts';
import { resolveSchedulingSpec, schedulingLookups, type SchedulingLookups, type SchedulingSpec } from './scheduler-instance-spec.ts';
import type { UserPrincipal } from './scope.ts';

/** A createInstance input checked against the catalogue, ready to write. */
export interface PreparedInstance {
  spec: InstanceSpec;
  flavor: FlavorRow;
  image: ImageRow;
  zone: ZoneRow | null;
  scheduling: SchedulingSpec;
  nics: PreparedNic[];
}

/**
 * Look-ups shared by the inputs of one request: a bulk create of a thousand instances of one
 * flavor, image, group and key pair reads each once.
 */
export class CreateLookups implements SchedulingLookups {
  private readonly flavors = new Map<string, Promise<FlavorRow | undefined>>();
  private readonly images = new Map<string, Promise<ImageRow | undefined>>();
  private readonly zones = new Map<string, Promise<ZoneRow | undefined>>();
  private readonly groups = new Map<string, Promise<ServerGroupRow | undefined>>();
  private readonly keyPairs = new Map<string, Promise<KeyPairRow | undefined>>();
  private soleNetworkLookup?: Promise<NetworkRow | null>;
  private readonly direct: SchedulingLookups;

  constructor(
    readonly ctx: Context,
    readonly user: UserPrincipal,
  ) {
    this.direct = schedulingLookups(ctx, user);
  }

  flavor(ref: string) {
    return memo(this.flavors, ref, () => findFlavor(this.ctx.sql, ref, this.user.projectId));
  }
  image(ref: string) {
    return memo(this.images, ref, () => findImage(this.ctx.sql, ref, this.user.projectId));
  }
  zone(ref: string) {
    return memo(this.zones, ref, () => findZone(this.ctx.sql, ref));
  }
  serverGroup(ref: string) {
    return memo(this.groups, ref, () => this.direct.serverGroup(ref));
  }
  keyPair(name: string) {
    return memo(this.keyPairs, name, () => this.direct.keyPair(name));
  }
  soleNetwork() {
    return (this.soleNetworkLookup ??= soleProjectNetwork(this.ctx.sql, this.user.projectId));
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
  input: object & { schedulerHints?: object | null; networks?: readonly object[] | null },
  root: string,
  lookups: CreateLookups,
): Promise<PreparedInstance> {
  const hints = input.schedulerHints ? compact(input.schedulerHints) : undefined;
  const networks = input.networks ? input.networks.map((n) => compact(n)) : undefined;
  const spec = validate<InstanceSpec>(instanceSpecSchema, compact({ ...input, schedulerHints: hints, networks }, ['metadata'], root), root);
  // Looked up side by side, checked in field order: the first error named stays the same. Each is
  // awaited below; the no-op catch keeps one that fails after an earlier error from going unhandled.
  const pending = {
    flavor: lookups.flavor(spec.flavor),
    image: lookups.image(spec.image),
    zone: spec.zone ? lookups.zone(spec.zone) : Promise.resolve(undefined),
    scheduling: resolveSchedulingSpec(spec, lookups, root),
    nics: prepareNics(lookups.ctx, lookups.user, spec.networks, root, () => lookups.soleNetwork()),
  };
  for (const p of Object.values(pending)) p.catch(() => {});
  const flavor = await pending.flavor;
  if (!flavor) throw new NotFoundError('flavor', spec.flavor, `${root}.flavor`);
  const image = await pending.image;
  if (!image) throw new NotFoundError('image', spec.image, `${root}.image`);
  if (image.status !== 'active') {
    throw ValidationError.field(`${root}.image`, `image ${image.name} is ${image.status}, not active (upload its file first)`);
  }
  const tooSmall = flavorRefusal(image, flavor);
  if (tooSmall) throw ValidationError.field(`${root}.flavor`, tooSmall);
  const zone = (await pending.zone) ?? null;
  if (spec.zone && !zone) throw new NotFoundError('availability zone', spec.zone, `${root}.zone`);
  return { spec, flavor, image, zone, scheduling: await pending.scheduling, nics: await pending.nics };
}

/**
 * Writes prepared instances in the caller's transaction, in input order: quotas checked once for
 * all of them under the project's lock, then one statement each for the rows, the group
 * memberships, the create actions and the placement job, however many instances there are;
 * ports one instance at a time (each address is its own claim).
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
    config_drive: p.spec.configDrive ?? false,
  }));
  const rows = await tx<InstanceRow[]>`
    insert into instances (id, project_id, user_id, name, flavor_id, image_id, requested_zone,
                           desired_power_state, metadata, user_data, task_deadline_at,
                           scheduler_hints, key_name, key_data, tags, config_drive)
    select r.id, ${user.projectId}, ${user.userId}, r.name, r.flavor_id, r.image_id, r.requested_zone,
           r.desired_power_state, r.metadata, r.user_data, now() + make_interval(secs => ${ctx.config.spawnTimeoutSeconds}),
           r.scheduler_hints, r.key_name, r.key_data, r.tags, r.config_drive
      from jsonb_to_recordset(${tx.json(records as never)}) as r(
             id uuid, name text, flavor_id uuid, image_id uuid, requested_zone text, desired_power_state text,
             metadata jsonb, user_data text, scheduler_hints jsonb, key_name text, key_data text, tags text[], config_drive boolean)
    returning *`;
  const ids = records.map((r) => r.id);
  const members = records.filter((r) => r.group_id !== null);
  if (members.length > 0) {
    await tx`insert into server_group_members (group_id, instance_id)
             select * from unnest(${members.map((r) => r.group_id!)}::uuid[], ${members.map((r) => r.id)}::uuid[])`;
  }
  await tx`insert into instance_actions (instance_id, project_id, action, request_id, user_id)
           select id, ${user.projectId}, 'create', ${ctx.requestId}, ${user.userId} from unnest(${ids}::uuid[]) as id`;
  for (const [i, p] of prepared.entries()) {
    for (const nic of p.nics) await writeNic(tx, user, ids[i]!, nic);
  }
  await enqueueBatch(tx, 'place_instances', ids, ctx.requestId);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)!);
}
