import type { Sql } from '../db/connect.ts';

/**
 * PostgreSQL's own counters for one database (pg_stat_database): what the whole control plane
 * cost the database, whichever process asked. Diffed over a run and divided by its instances,
 * they say whether the work per instance grows with the number of workers.
 */
export interface DbCounters {
  xacts: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  fetched: number;
  returned: number;
  blocksHit: number;
}

export async function dbCounters(sql: Sql): Promise<DbCounters> {
  // A backend publishes its counters at most once a second (and when it goes idle, a second
  // later): read after a pause so the last second of the run is in.
  const [r] = await sql<DbCounters[]>`
    select xact_commit::float8 as xacts, xact_rollback::float8 as rollbacks,
           tup_inserted::float8 as inserted, tup_updated::float8 as updated, tup_deleted::float8 as deleted,
           tup_fetched::float8 as fetched, tup_returned::float8 as returned, blks_hit::float8 as "blocksHit"
      from pg_stat_database where datname = current_database()`;
  return r!;
}

export function perInstance(before: DbCounters, after: DbCounters, instances: number): DbCounters {
  const out = {} as DbCounters;
  for (const k of Object.keys(before) as (keyof DbCounters)[]) out[k] = (after[k] - before[k]) / instances;
  return out;
}

/** A worker's job and placement counters, read from its /metrics (prom-client text format). */
export interface WorkerCounters {
  /** Jobs run successfully, by task. */
  jobs: Map<string, number>;
  /** Jobs that failed (graphile-worker retries them). */
  failedJobs: number;
  /** Instances this worker placed (batch and single path, claimed). */
  placed: number;
}

export async function workerCounters(metricsUrl: string): Promise<WorkerCounters> {
  const text = await fetch(`${metricsUrl}/metrics`).then((r) => r.text());
  const out: WorkerCounters = { jobs: new Map(), failedJobs: 0, placed: 0 };
  for (const line of text.split('\n')) {
    const m = /^(orrery_reconcile_runs_total|orrery_placement_decisions_total)\{([^}]*)\} ([\d.e+]+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const n = Number(m[3]);
    if (m[1] === 'orrery_reconcile_runs_total') {
      if (labels.result === 'success') out.jobs.set(labels.task!, (out.jobs.get(labels.task!) ?? 0) + n);
      else out.failedJobs += n;
    } else if (labels.result === 'claimed') {
      out.placed += n;
    }
  }
  return out;
}

export function diffWorkerCounters(before: WorkerCounters, after: WorkerCounters): WorkerCounters {
  const jobs = new Map<string, number>();
  for (const [task, n] of after.jobs) jobs.set(task, n - (before.jobs.get(task) ?? 0));
  return { jobs, failedJobs: after.failedJobs - before.failedJobs, placed: after.placed - before.placed };
}
