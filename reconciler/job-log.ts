import type { JobHelpers, Task, TaskList } from 'graphile-worker';
import type { Log } from '../core/log.ts';
import { reconcileDuration, reconcileRuns } from '../server/metrics/worker.ts';

/** A task that logs through the logger of its run. */
export type LoggedTask = (payload: unknown, log: Log, helpers: JobHelpers) => Promise<void>;

/** The request id an API request put in a job's payload (store/jobs.ts), if any. */
function requestIdOf(payload: unknown): string | undefined {
  const id = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as { requestId?: unknown }).requestId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The one place every job runs through. Each run gets a child logger bound to its task, job id and
 * the request that enqueued it, and ends with one line: info for a job a request asked for (so a
 * grep of its id finds it beside the API's line and the agent's), debug for the worker's own
 * (sweeps, reports' reconciles), which are many. A failure is a warning; graphile-worker retries
 * the job. Each run is also counted and timed by task and result (orrery_reconcile_*).
 */
export function loggedTasks(tasks: Record<string, LoggedTask>, log: Log): TaskList {
  return Object.fromEntries(
    Object.entries(tasks).map(([task, run]): [string, Task] => [
      task,
      async (payload, helpers) => {
        const requestId = requestIdOf(payload);
        const jlog = log.child({ task, job: helpers.job.id, ...(requestId ? { requestId } : {}) });
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        try {
          await run(payload, jlog, helpers);
        } catch (e) {
          const s = seconds();
          reconcileRuns.inc({ task, result: 'error' });
          reconcileDuration.observe({ task }, s);
          jlog.warn({ err: e, attempt: helpers.job.attempts, ms: Math.round(s * 1000) }, 'job failed');
          throw e;
        }
        const s = seconds();
        reconcileRuns.inc({ task, result: 'success' });
        reconcileDuration.observe({ task }, s);
        jlog[requestId ? 'info' : 'debug']({ ms: Math.round(s * 1000) }, 'job ran');
      },
    ]),
  );
}
