import type { TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { addActionEvent, finishActions } from '../../store/actions.ts';
import { currentSchedulerConfig } from '../../store/scheduler-config.ts';
import { lockGroupOfInstance } from '../../store/server-groups.ts';
import { growClaim, tryClaim } from '../placement/claim.ts';
import { loadAllHosts, loadCandidates } from '../placement/hosts.ts';
import { allWeighers, enabledFilters, requestFilters } from '../placement/registry.ts';
import { placementRequest, type SchedulerHints } from '../placement/request.ts';
import { claimOrder, schedule, summariseRejections, type Ranked, type Rejection } from '../placement/schedule.ts';
import type { PlacementRequest } from '../placement/types.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';
import { noValidHost as noValidHostCount, placementDecisions } from '../../server/metrics/worker.ts';

/**
 * The instance's request (for another flavor, or away from some hosts, when it moves); its server
 * group is locked here until the reconcile transaction ends.
 */
export async function requestFor(
  tx: TxSql,
  inst: InstanceRow,
  move: { flavorId: string; ignoredHostIds: string[]; requestedHostId?: string | null; live?: boolean } | null = null,
): Promise<PlacementRequest> {
  const config = await currentSchedulerConfig(tx);
  const group = (await lockGroupOfInstance(tx, inst.id)) ?? null;
  const [h] = await tx<{ scheduler_hints: SchedulerHints }[]>`select scheduler_hints from instances where id = ${inst.id}`;
  return placementRequest(tx, {
    projectId: inst.project_id,
    flavorId: move?.flavorId ?? inst.flavor_id,
    imageId: inst.image_id,
    zone: inst.requested_zone,
    group,
    hints: h!.scheduler_hints,
    failedHostIds: move ? [] : inst.failed_host_ids,
    ignoredHostIds: move?.ignoredHostIds ?? [],
    instanceId: inst.id,
    config,
    requestedHostId: move ? (move.requestedHostId ?? null) : inst.requested_host_id,
    liveMigration: move?.live ?? false,
  });
}

export type Choice =
  | { kind: 'claimed'; host: Ranked['host'] }
  | { kind: 'retry' }
  | { kind: 'none'; summary: string; rejected: Rejection[] };

/**
 * Filters, weighs and claims a host for the request. The fast path sees only the coarse SQL
 * candidates; when the precise filters reject all of them, the whole fleet is scheduled, which
 * both finds a host the candidates missed and explains a refusal.
 */
export async function chooseAndClaim(tx: TxSql, inst: InstanceRow, req: PlacementRequest, deps: ReconcileDeps): Promise<Choice> {
  return counted(await choose(tx, inst, req, deps));
}

/** Every single-path decision (builds and moves alike) counted where it is made. */
function counted(choice: Choice): Choice {
  placementDecisions.inc({ path: 'single', result: choice.kind === 'none' ? 'no_valid_host' : choice.kind });
  if (choice.kind === 'none') {
    const filters = new Set(choice.rejected.map((r) => r.filter.name));
    if (filters.size === 0) noValidHostCount.inc({ filter: 'none' });
    for (const filter of filters) noValidHostCount.inc({ filter });
  }
  return choice;
}

async function choose(tx: TxSql, inst: InstanceRow, req: PlacementRequest, deps: ReconcileDeps): Promise<Choice> {
  const filters = [...requestFilters, ...enabledFilters(req.config)];
  const down = deps.config.serviceDownSeconds;
  const fast = schedule(req, await loadCandidates(tx, req, down), filters, allWeighers);
  const chosen = await claimFirst(tx, inst, req, claimOrder(fast.ranked, req.config.hostSubsetSize));
  if (chosen) return { kind: 'claimed', host: chosen.host };
  const all = await loadAllHosts(tx, down);
  const full = schedule(req, all, filters, allWeighers);
  const second = await claimFirst(tx, inst, req, claimOrder(full.ranked, req.config.hostSubsetSize));
  if (second) return { kind: 'claimed', host: second.host };
  // Hosts passed every filter yet every claim lost a race: retry on fresh numbers rather than fail.
  if (full.ranked.length > 0) return { kind: 'retry' };
  return { kind: 'none', summary: summariseRejections(req, all.length, full.rejected), rejected: full.rejected };
}

/** Claims the first host of `order` that still has room (alternates on a lost race); null if none. */
async function claimFirst(tx: TxSql, inst: InstanceRow, req: PlacementRequest, order: Ranked[]): Promise<Ranked | null> {
  for (const r of order) {
    const claim = { instanceId: inst.id, hostId: r.host.id, vcpus: req.vcpus, memoryMb: req.memoryMb, diskGb: req.diskGb };
    // Only a resize allowed to stay on its host can be offered the host it is on.
    const claimed = r.host.id === inst.host_id ? await growClaim(tx, claim) : await tryClaim(tx, claim);
    if (claimed) return r;
  }
  return null;
}

/**
 * Places the instance, all inside the reconcile transaction: the claim, the binding and the
 * action event commit together or not at all.
 */
export async function place(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<ReconcileResult> {
  const choice = await chooseAndClaim(tx, inst, await requestFor(tx, inst), deps);
  if (choice.kind === 'retry') return { requeueAfter: 1, outcome: 'retry-placement' };
  if (choice.kind === 'none') return noValidHost(tx, inst, choice.summary, choice.rejected);
  const host = choice.host;
  await tx`update instances set host_id = ${host.id}, task_state = 'spawning', agent_fault = null, requested_host_id = null,
                  schedule_attempts = schedule_attempts + 1,
                  task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
            where id = ${inst.id}`;
  await addActionEvent(tx, inst.id, { event: 'schedule', result: 'success', hostName: host.name });
  return { outcome: `placed on ${host.name}` };
}

/**
 * ERROR with the per-filter summary in the fault, and each host's reason (the first 100) in its
 * details; an unshelve that finds no host stays shelved, as in Nova, with the same fault.
 */
async function noValidHost(tx: TxSql, inst: InstanceRow, summary: string, rejected: Rejection[]): Promise<ReconcileResult> {
  const details = rejected.slice(0, 100).map((r) => ({ host: r.host.name, filter: r.filter.name, reason: r.reason }));
  const f = fault('NoValidHost', `No valid host was found. ${summary}`, JSON.stringify(details));
  await tx`update instances set task_state = null, task_deadline_at = null,
                  vm_state = unplaced_vm_state(vm_state),
                  fault = ${tx.json(f as never)} where id = ${inst.id}`;
  await addActionEvent(tx, inst.id, { event: 'schedule', result: 'error', details: f.message });
  await finishActions(tx, inst.id, 'failed', f.message);
  return { outcome: 'no-valid-host' };
}
