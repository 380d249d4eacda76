import type { JobHelpers, Task, TaskList } from 'graphile-worker';
import type { Log } from '../core/log.ts';

/** A task that logs through the logger of its run. */
export type LoggedTask = (payload: unknown, log: Log, helpers: JobHelpers) => Promise<void>;

/** The request id an API request put in a job's payload (store/jobs.ts), if any. */
function requestIdOf(payload: unknown): string | undefined {
  const id = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as { requestId?: unknown }).requestId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Each job run gets a child logger bound to its task, job id and the request that enqueued it,
 * and ends with one line: info for a job a request asked for (so a grep of its id finds it beside
 * the API's line and the agent's), debug for the worker's own (sweeps, reports' reconciles), which
 * are many. A failure is a warning; graphile-worker retries the job.
 */
export function loggedTasks(tasks: Record<string, LoggedTask>, log: Log): TaskList {
  return Object.fromEntries(
    Object.entries(tasks).map(([task, run]): [string, Task] => [
      task,
      async (payload, helpers) => {
        const requestId = requestIdOf(payload);
        const jlog = log.child({ task, job: helpers.job.id, ...(requestId ? { requestId } : {}) });
        const started = performance.now();
        const ms = () => Math.round(performance.now() - started);
        try {
          await run(payload, jlog, helpers);
        } catch (e) {
          jlog.warn({ err: e, attempt: helpers.job.attempts, ms: ms() }, 'job failed');
          throw e;
        }
        jlog[requestId ? 'info' : 'debug']({ ms: ms() }, 'job ran');
      },
    ]),
  );
}
