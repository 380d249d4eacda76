import type { Sql, TxSql } from '../../db/connect.ts';
import { settledVmState } from '../../core/instance-status.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { enqueueReconcileMany } from '../../store/jobs.ts';
import { agentFailed, converged, deadlinePassed } from './progress.ts';
import type { ReconcileDeps } from './result.ts';

/** Instances settled per transaction. */
const COMPLETE_CHUNK = 500;

interface BatchRow extends InstanceRow {
  /** Null when the instance is not bound to a host (any more). */
  host_name: string | null;
  host_up: boolean | null;
}

/**
 * The end of new builds, many per transaction: an instance whose agent reports the current
 * generation built (a domain exists), on a host that is up, before its deadline, takes the same
 * step as the build branch of `reconcileInstance` (settled vm_state, launched_at, the spawn event,
 * its create action succeeded). Everything else (a failure, a down host, a deadline, anything
 * that is no longer a plain build) is handed to the one-at-a-time reconcile, which decides it.
 */
export async function completeBuilds(sql: Sql, ids: string[], deps: ReconcileDeps): Promise<number> {
  let settled = 0;
  for (let i = 0; i < ids.length; i += COMPLETE_CHUNK) {
    settled += await sql.begin((tx) => completeChunk(tx, ids.slice(i, i + COMPLETE_CHUNK), deps));
  }
  return settled;
}

async function completeChunk(tx: TxSql, ids: string[], deps: ReconcileDeps): Promise<number> {
  const rows = await tx<BatchRow[]>`
    select i.*, h.name as host_name,
           not h.forced_down and coalesce(h.last_heartbeat_at > now() - make_interval(secs => ${deps.config.serviceDownSeconds}), false) as host_up
      from instances i left join hosts h on h.id = i.host_id
     where i.id = any(${ids}::uuid[]) order by i.id for no key update of i`;
  const built = rows.filter(
    (r) => r.vm_state === 'building' && r.delete_requested_at === null && r.current_action_id === null &&
      r.shelved_image_id === null && r.host_up === true &&
      !agentFailed(r) && !deadlinePassed(r) && converged(r) && r.power_state !== 'nostate',
  );
  // Whatever is not settled here (rows deleted meanwhile excepted) gets its own reconcile.
  const settling = new Set(built);
  await enqueueReconcileMany(tx, 'instance', rows.filter((r) => !settling.has(r)).map((r) => r.id));
  if (built.length === 0) return 0;
  const batch = {
    ids: built.map((r) => r.id),
    vm: built.map((r) => settledVmState(r.desired_power_state)),
    hosts: built.map((r) => r.host_name!),
  };
  await tx`update instances i set vm_state = c.vm, task_state = null, fault = null, task_deadline_at = null,
                  launched_at = coalesce(i.launched_at, now())
             from unnest(${batch.ids}::uuid[], ${batch.vm}::text[]) as c(id, vm) where i.id = c.id`;
  await tx`insert into instance_action_events (action_id, event, result, host_name, finished_at)
           select a.id, 'spawn', 'success', c.host_name, now()
             from unnest(${batch.ids}::uuid[], ${batch.hosts}::text[]) as c(id, host_name)
             cross join lateral (select id from instance_actions
                                  where instance_id = c.id and state = 'running' order by started_at desc limit 1) a`;
  // No current operation on these (checked above), so every running action is the build's.
  await tx`update instance_actions set state = 'succeeded', finished_at = now()
            where instance_id = any(${batch.ids}::uuid[]) and state = 'running'`;
  return built.length;
}
