import type { Sql, TxSql } from '../db/connect.ts';
import { INTERFACE_ACTIONS } from './actions.ts';

/**
 * Enqueues the reconcile of one object inside the caller's transaction, debounced by job key: a
 * burst of writes gives one reconcile. `replace` pulls a delayed job forward to now; a delayed
 * requeue uses `preserve_run_at` so it never pushes back a reconcile someone asked for sooner.
 * `requestId` is the request that asked for it, for the worker's log (reconciler/job-log.ts); a
 * later enqueue under the same key replaces it, as it replaces the job.
 */
export async function enqueueReconcile(
  sql: Sql | TxSql,
  kind: 'instance',
  id: string,
  o: { delaySeconds?: number; requestId?: string | null } = {},
): Promise<void> {
  const delaySeconds = o.delaySeconds ?? 0;
  const mode = delaySeconds > 0 ? 'preserve_run_at' : 'replace';
  await sql`select graphile_worker.add_job(
    ${'reconcile_' + kind}::text,
    json_build_object('id', ${id}::text, 'requestId', ${o.requestId ?? null}::text),
    run_at := now() + make_interval(secs => ${delaySeconds}),
    job_key := ${kind + ':' + id}::text,
    job_key_mode := ${mode}::text,
    max_attempts := 25)`;
}

/**
 * Many at once (agent report flushes, instances a batch hands back): one call of graphile-worker's
 * add_jobs for all of them rather than one add_job each, which costs a function call and three
 * statements per job. Same key and mode as enqueueReconcile; ids are made distinct, as one
 * add_jobs may not touch a job key twice. Each carries the request id of the instance's action
 * under way (running_state_action, migrations/000027): a report may replace the job that request
 * enqueued, and wakes the reconcile that settles its action, which a grep of that id should find.
 */
export async function enqueueReconcileMany(sql: Sql | TxSql, kind: 'instance', ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`select count(*) from graphile_worker.add_jobs(array(
      select (${'reconcile_' + kind}::text,
              json_build_object('id', id, 'requestId',
                (select a.request_id from running_state_action(ids.id::uuid, ${INTERFACE_ACTIONS}::text[]) a)),
              null, now(), 25, ${kind + ':'}::text || id, null, null)::graphile_worker.job_spec
        from (select distinct unnest(${ids}::text[]) as id) ids))`;
}

/**
 * The deadline of an interface attach or detach (reconciler/interface-deadline.ts), in the
 * transaction that records it: no key, one job per action.
 */
export async function enqueueInterfaceDeadline(sql: Sql | TxSql, actionId: string, delaySeconds: number, requestId: string): Promise<void> {
  await sql`select graphile_worker.add_job('interface_deadline',
    json_build_object('actionId', ${actionId}::text, 'seconds', ${delaySeconds}::int, 'requestId', ${requestId}::text),
    run_at := now() + make_interval(secs => ${delaySeconds}), max_attempts := 25)`;
}

/**
 * One job carrying many instances for a batched task: `place_instances` (new instances, one job
 * per create request: reconciler/instance/place-batch.ts) or `complete_builds` (builds the agents
 * reported, one job per report flush: reconciler/instance/complete-batch.ts). No job key:
 * graphile-worker merges array payloads under a key, but an add that races the worker locking that
 * job is dropped, and with it the ids it carried. A request's batch carries its request id.
 */
export async function enqueueBatch(
  sql: Sql | TxSql,
  task: 'place_instances' | 'complete_builds',
  ids: string[],
  requestId?: string,
): Promise<void> {
  if (ids.length === 0) return;
  const payload = requestId === undefined ? ids : { ids, requestId };
  await sql`select graphile_worker.add_job(${task}::text, ${sql.json(payload)}::json, max_attempts := 25)`;
}

/** A batch job's payload: its ids, or its ids and the request that enqueued them. */
export type BatchPayload = string[] | { ids: string[]; requestId: string };

export function batchIds(payload: BatchPayload): string[] {
  return Array.isArray(payload) ? payload : payload.ids;
}
