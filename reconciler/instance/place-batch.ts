import type { Sql, TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { enqueueReconcileMany } from '../../store/jobs.ts';
import { currentSchedulerConfig } from '../../store/scheduler-config.ts';
import type { SchedulerConfig } from '../placement/config.ts';
import { loadCandidates } from '../placement/hosts.ts';
import { allWeighers, enabledFilters } from '../placement/registry.ts';
import { placementRequest } from '../placement/request.ts';
import { isCapacityRefusal } from '../placement/claim.ts';
import { claimOrder, schedule } from '../placement/schedule.ts';
import type { HostView, PlacementRequest } from '../placement/types.ts';
import type { ReconcileDeps } from './result.ts';
import { claimConflicts, placementDecisions } from '../../server/metrics/worker.ts';

/** Instances placed per transaction: enough to share the work, few enough to hold host rows briefly. */
export const PLACE_CHUNK = 200;

interface BatchRow extends InstanceRow {
  /** No server group, no scheduler hints, no failed hosts: the request is its flavor, image, zone and project. */
  plain: boolean;
}

export interface BatchOutcome {
  placed: Set<string>;
  /** Handed to the one-at-a-time reconcile: not plain, no room among the candidates, or a claim refused. */
  deferred: Set<string>;
}

/**
 * Places new instances many per transaction, with the same filters, weighers and trigger-guarded
 * claims as `place`: per (project, flavor, image, zone) the request is built and the coarse
 * candidates loaded (and locked) once, each instance is scheduled in turn on those candidates as
 * the previous choices left them, and the claims go in with one statement. The allocations
 * trigger still checks them against the hosts' capacity; if it refuses, those instances take the
 * one-at-a-time path, as does anything that is not a plain new build. Every step is idempotent: an
 * instance already placed, moved on or deleted is skipped under its row lock.
 */
export async function placeBatch(sql: Sql, ids: string[], deps: ReconcileDeps): Promise<BatchOutcome> {
  const total: BatchOutcome = { placed: new Set(), deferred: new Set() };
  for (let i = 0; i < ids.length; i += PLACE_CHUNK) {
    const r = await placeChunk(sql, ids.slice(i, i + PLACE_CHUNK), deps);
    r.placed.forEach((id) => total.placed.add(id));
    r.deferred.forEach((id) => total.deferred.add(id));
  }
  // Counted once committed: a chunk placed again after a refusal is one decision per instance.
  placementDecisions.inc({ path: 'batch', result: 'claimed' }, total.placed.size);
  placementDecisions.inc({ path: 'batch', result: 'deferred' }, total.deferred.size);
  return total;
}

/**
 * One transaction, its claims without savepoints: a savepoint's updates of rows the transaction
 * already locked (the candidate hosts, the instances) each cost a MultiXact. The candidates are
 * this transaction's, so the trigger refuses a claim only if the filters let through more than
 * the host's capacity (some disabled); then the refusal aborts the transaction, and the chunk is
 * placed again with each group's claims behind a savepoint, so only that group is handed on.
 */
async function placeChunk(sql: Sql, ids: string[], deps: ReconcileDeps): Promise<BatchOutcome> {
  try {
    return await sql.begin((tx) => placeIn(tx, ids, deps, false));
  } catch (e) {
    if (!isCapacityRefusal(e)) throw e;
    claimConflicts.inc({ path: 'batch' });
    return sql.begin((tx) => placeIn(tx, ids, deps, true));
  }
}

async function placeIn(tx: TxSql, ids: string[], deps: ReconcileDeps, guarded: boolean): Promise<BatchOutcome> {
  // Pipelined: two statements, one round trip.
  const [rows, config] = await Promise.all([
    tx<BatchRow[]>`
      select i.*, (i.scheduler_hints = '{}'::jsonb and cardinality(i.failed_host_ids) = 0
                   and not exists (select 1 from server_group_members m where m.instance_id = i.id)) as plain
        from instances i where i.id = any(${ids}::uuid[]) order by i.id for update of i`,
    currentSchedulerConfig(tx),
  ]);
  const waiting = rows.filter((r) => r.host_id === null && r.vm_state === 'building' && r.delete_requested_at === null);
  const deferred: string[] = [];
  const shapes = new Map<string, BatchRow[]>();
  for (const r of waiting) {
    if (!(r.plain && r.task_state === 'scheduling' && r.current_action_id === null)) {
      deferred.push(r.id);
      continue;
    }
    const key = [r.project_id, r.flavor_id, r.image_id, r.requested_zone].join('|');
    const shape = shapes.get(key) ?? [];
    shape.push(r);
    shapes.set(key, shape);
  }
  const placed: string[] = [];
  for (const group of shapes.values()) {
    const { req, choices } = await chooseHosts(tx, group, config, deps);
    const unplaced = group.filter((r) => !choices.has(r.id)).map((r) => r.id);
    if (choices.size > 0 && (await claim(tx, choices, req, deps, guarded))) {
      placed.push(...choices.keys());
    } else {
      unplaced.push(...choices.keys());
    }
    deferred.push(...unplaced);
  }
  await enqueueReconcileMany(tx, 'instance', deferred);
  return { placed: new Set(placed), deferred: new Set(deferred) };
}

/** The group's request, and instance id → chosen host, scheduling one instance after another on one candidate list. */
async function chooseHosts(
  tx: TxSql,
  group: BatchRow[],
  config: SchedulerConfig,
  deps: ReconcileDeps,
): Promise<{ req: PlacementRequest; choices: Map<string, HostView> }> {
  const first = group[0]!;
  const req: PlacementRequest = await placementRequest(tx, {
    projectId: first.project_id, flavorId: first.flavor_id, imageId: first.image_id, zone: first.requested_zone,
    group: null, hints: {}, failedHostIds: [], instanceId: null, config,
  });
  // Locked until commit, skipping hosts another batch holds: concurrent batches place on disjoint
  // hosts (candidateLimit each), and the claims below never wait. With none left to lock, the group
  // takes the one-at-a-time path, which waits for rows instead.
  let hosts = await loadCandidates(tx, req, deps.config.serviceDownSeconds, { lockSkippingLocked: true });
  const filters = enabledFilters(config);
  const choices = new Map<string, HostView>();
  for (const inst of group) {
    const [best] = claimOrder(schedule(req, hosts, filters, allWeighers).ranked, config.hostSubsetSize);
    if (!best) break; // the candidates are full: the rest take the one-at-a-time path, which looks at the whole fleet
    choices.set(inst.id, best.host);
    const taken: HostView = {
      ...best.host,
      usedVcpus: best.host.usedVcpus + req.vcpus,
      usedMemoryMb: best.host.usedMemoryMb + req.memoryMb,
      usedDiskGb: best.host.usedDiskGb + req.diskGb,
      numInstances: best.host.numInstances + 1,
      numIoOps: best.host.numIoOps + 1,
    };
    hosts = hosts.map((h) => (h === best.host ? taken : h));
  }
  return { req, choices };
}

/** Guarded, the claims go behind a savepoint: false when the trigger refused one, and then nothing of them remains. */
async function claim(
  tx: TxSql,
  choices: Map<string, HostView>,
  req: PlacementRequest,
  deps: ReconcileDeps,
  guarded: boolean,
): Promise<boolean> {
  if (!guarded) {
    await claimAndBind(tx, choices, req, deps);
    return true;
  }
  try {
    await tx.savepoint((sp) => claimAndBind(sp, choices, req, deps));
    return true;
  } catch (e) {
    if (!isCapacityRefusal(e)) throw e;
    claimConflicts.inc({ path: 'batch' });
    return false;
  }
}

/**
 * What `place` does for one, for all of them in one statement: the claims (checked by the
 * allocations trigger at its end), the binding to the hosts, and the schedule step recorded on
 * each instance's running action.
 */
async function claimAndBind(tx: TxSql, choices: Map<string, HostView>, req: PlacementRequest, deps: ReconcileDeps): Promise<void> {
  const ids = [...choices.keys()];
  const hostIds = ids.map((id) => choices.get(id)!.id);
  const hostNames = ids.map((id) => choices.get(id)!.name);
  await tx`
    with chosen as (
      select * from unnest(${ids}::uuid[], ${hostIds}::uuid[], ${hostNames}::text[]) as c(id, host_id, host_name)
    ), claimed as (
      insert into allocations (instance_id, host_id, vcpus, memory_mb, disk_gb)
      select id, host_id, ${req.vcpus}, ${req.memoryMb}, ${req.diskGb} from chosen
    ), bound as (
      update instances i set host_id = c.host_id, task_state = 'spawning', agent_fault = null,
             schedule_attempts = i.schedule_attempts + 1,
             task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
        from chosen c
       where i.id = c.id
    )
    insert into instance_action_events (action_id, event, result, host_name, finished_at)
    select a.id, 'schedule', 'success', c.host_name, now()
      from chosen c
      cross join lateral (select id from instance_actions
                           where instance_id = c.id and state = 'running' order by started_at desc limit 1) a`;
}
