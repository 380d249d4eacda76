import type { TxSql } from '../../db/connect.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { addActionEvent, finishActions } from '../../store/actions.ts';
import { tryClaim } from '../placement/claim.ts';
import { defaultFilters, defaultWeighers } from '../placement/defaults.ts';
import { loadAllHosts, loadCandidates } from '../placement/hosts.ts';
import { schedule, summariseRejections } from '../placement/schedule.ts';
import type { PlacementRequest } from '../placement/types.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';

interface FlavorNeeds {
  vcpus: number;
  ram_mb: number;
  disk_gb: number;
}

/** Nova counts root + ephemeral + swap (rounded up to GiB) as the instance's DISK_GB. */
export async function placementRequest(tx: TxSql, inst: InstanceRow): Promise<PlacementRequest> {
  const [f] = await tx<FlavorNeeds[]>`
    select vcpus, ram_mb, disk_gb + ephemeral_gb + ceil(swap_mb / 1024.0)::integer as disk_gb
      from flavors where id = ${inst.flavor_id}`;
  return {
    vcpus: f!.vcpus,
    memoryMb: f!.ram_mb,
    diskGb: f!.disk_gb,
    zone: inst.requested_zone,
    failedHostIds: inst.failed_host_ids,
  };
}

/**
 * Filters, weighs and claims a host, all inside the reconcile transaction: the claim, the binding
 * and the action event commit together or not at all.
 */
export async function place(tx: TxSql, inst: InstanceRow, deps: ReconcileDeps): Promise<ReconcileResult> {
  const req = await placementRequest(tx, inst);
  const candidates = await loadCandidates(tx, req, deps.config.serviceDownSeconds);
  const { ranked } = schedule(req, candidates, defaultFilters, defaultWeighers);
  for (const { host } of ranked) {
    const claimed = await tryClaim(tx, {
      instanceId: inst.id,
      hostId: host.id,
      vcpus: req.vcpus,
      memoryMb: req.memoryMb,
      diskGb: req.diskGb,
    });
    if (!claimed) continue;
    await tx`update instances set host_id = ${host.id}, task_state = 'spawning', agent_fault = null,
                    schedule_attempts = schedule_attempts + 1,
                    task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
              where id = ${inst.id}`;
    await addActionEvent(tx, inst.id, { event: 'schedule', result: 'success', hostName: host.name });
    return { outcome: `placed on ${host.name}` };
  }
  // The slow path explains the refusal over the whole fleet, with every filter's reason.
  const all = await loadAllHosts(tx, deps.config.serviceDownSeconds);
  const { rejected, ranked: stillFits } = schedule(req, all, defaultFilters, defaultWeighers);
  if (stillFits.length > 0) {
    // Concurrent placements took our candidates but room remains elsewhere: try again, don't fail.
    return { requeueAfter: 1, outcome: 'retry-placement' };
  }
  const summary = summariseRejections(all.length, rejected);
  const f = fault('NoValidHost', `No valid host was found. ${summary}`, JSON.stringify(rejected.slice(0, 100)));
  await tx`update instances set vm_state = 'error', task_state = null, task_deadline_at = null,
                  fault = ${tx.json(f as never)} where id = ${inst.id}`;
  await addActionEvent(tx, inst.id, { event: 'schedule', result: 'error', details: f.message });
  await finishActions(tx, inst.id, 'failed', f.message);
  return { outcome: 'no-valid-host' };
}
