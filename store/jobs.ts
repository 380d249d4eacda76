import type { Sql, TxSql } from '../db/connect.ts';

/**
 * Enqueues the reconcile of one object inside the caller's transaction, debounced by job key: a
 * burst of writes gives one reconcile. `replace` pulls a delayed job forward to now; a delayed
 * requeue uses `preserve_run_at` so it never pushes back a reconcile someone asked for sooner.
 */
export async function enqueueReconcile(
  sql: Sql | TxSql,
  kind: 'instance',
  id: string,
  delaySeconds = 0,
): Promise<void> {
  const mode = delaySeconds > 0 ? 'preserve_run_at' : 'replace';
  await sql`select graphile_worker.add_job(
    ${'reconcile_' + kind}::text,
    json_build_object('id', ${id}::text),
    run_at := now() + make_interval(secs => ${delaySeconds}),
    job_key := ${kind + ':' + id}::text,
    job_key_mode := ${mode}::text,
    max_attempts := 25)`;
}

/** Many at once, for batched agent reports. */
export async function enqueueReconcileMany(sql: Sql | TxSql, kind: 'instance', ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`select graphile_worker.add_job(${'reconcile_' + kind}::text, json_build_object('id', id),
      job_key := ${kind + ':'}::text || id, job_key_mode := 'replace', max_attempts := 25)
    from unnest(${ids}::text[]) as id`;
}
