import type { Sql } from '../db/connect.ts';
import { cleanUpConsoleTokens } from '../store/console-tokens.ts';

export interface SweepResult {
  hostsMarkedDown: string[];
  hostsBackUp: string[];
  requeued: number;
  consoleTokensRemoved: number;
}

/**
 * The periodic safety net: expires host leases whose heartbeat is older than the service-down
 * time, and re-enqueues every instance whose work looks stale (or sits on a host that just went
 * down), so nothing waits on a notification that was lost. Stale work is a task state, a delete,
 * or an operation still queued: a job a worker had locked when it was killed stays locked for
 * graphile-worker's 4 hours. Console tokens nobody can use any more go too.
 */
export async function sweep(sql: Sql, serviceDownSeconds: number, staleSeconds = 60): Promise<SweepResult> {
  return sql.begin(async (tx) => {
    const down = await tx<{ id: string; name: string }[]>`
      update hosts set down_since = now()
       where down_since is null
         and (last_heartbeat_at is null or last_heartbeat_at < now() - make_interval(secs => ${serviceDownSeconds}))
      returning id, name`;
    const up = await tx<{ name: string }[]>`
      update hosts set down_since = null
       where down_since is not null and last_heartbeat_at >= now() - make_interval(secs => ${serviceDownSeconds})
      returning name`;
    const downIds = down.map((h) => h.id);
    const requeued = await tx`
      select graphile_worker.add_job('reconcile_instance', json_build_object('id', i.id),
               job_key := 'instance:' || i.id, job_key_mode := 'preserve_run_at', max_attempts := 25)
        from instances i
       where i.host_id = any(${downIds}::uuid[])
          or ((i.task_state is not null or i.delete_requested_at is not null)
              and i.updated_at < now() - make_interval(secs => ${staleSeconds}))
          or i.id in (select instance_id from instance_actions
                       where state = 'pending' and started_at < now() - make_interval(secs => ${staleSeconds}))`;
    const consoleTokensRemoved = await cleanUpConsoleTokens(tx);
    return { hostsMarkedDown: down.map((h) => h.name), hostsBackUp: up.map((h) => h.name), requeued: requeued.count, consoleTokensRemoved };
  });
}
