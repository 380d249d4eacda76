import { run, type Runner } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import type { Config } from '../core/config.ts';
import { workerLogger, type Log } from '../core/log.ts';
import { batchIds, enqueueReconcile, type BatchPayload } from '../store/jobs.ts';
import { completeBuilds } from './instance/complete-batch.ts';
import { PlacementQueue } from './instance/place-queue.ts';
import { reconcileInstance } from './instance/reconcile.ts';
import { expireInterfaceAction } from './interface-deadline.ts';
import { loggedTasks, type LoggedTask } from './job-log.ts';
import { sweep } from './sweep.ts';

/** Jobs fetched and locked per job slot: enough to keep the slots busy between fetches, few enough to share. */
const LOCAL_QUEUE_PER_SLOT = 2;

export interface WorkerOptions {
  sql: Sql;
  databaseUrl: string;
  config: Config;
  log: Log;
}

/** The job worker: reconcile loops and the sweep. Stateless: any number may run against one database. */
export async function startWorker({ sql, databaseUrl, config, log }: WorkerOptions): Promise<Runner> {
  const wlog = log.child({ component: 'reconciler' });
  const placements = new PlacementQueue(sql, { config, log: wlog });
  const tasks: Record<string, LoggedTask> = {
    reconcile_instance: async (payload, jlog) => {
      const { id, requestId } = payload as { id: string; requestId?: string | null };
      const started = performance.now();
      const result = await reconcileInstance(sql, id, { config, log: jlog });
      // A requeue goes on with the work the request asked for, so it keeps its id.
      if (result.requeueAfter !== undefined) await enqueueReconcile(sql, 'instance', id, { delaySeconds: result.requeueAfter, requestId });
      jlog.debug({ instance: id, outcome: result.outcome, ms: Math.round(performance.now() - started) }, 'reconciled');
    },
    place_instances: async (payload, jlog) => {
      const r = await placements.place(batchIds(payload as BatchPayload));
      jlog.debug(r, 'placed a batch');
    },
    complete_builds: async (payload, jlog) => {
      const settled = await completeBuilds(sql, batchIds(payload as BatchPayload), { config, log: jlog });
      jlog.debug({ settled }, 'settled a batch of builds');
    },
    interface_deadline: async (payload, jlog) => {
      const { actionId, seconds } = payload as { actionId: string; seconds: number };
      if (await expireInterfaceAction(sql, actionId, seconds)) jlog.warn({ action: actionId }, 'interface change timed out');
    },
    sweep: async (_payload, jlog) => {
      try {
        const r = await sweep(sql, config.serviceDownSeconds, config.sweepStaleSeconds);
        if (r.hostsMarkedDown.length) jlog.warn({ hosts: r.hostsMarkedDown }, 'hosts marked down (heartbeat lease expired)');
        if (r.hostsBackUp.length) jlog.info({ hosts: r.hostsBackUp }, 'hosts back up');
      } finally {
        await scheduleSweep(sql, config.sweepIntervalSeconds);
      }
    },
  };
  const runner = await run({
    connectionString: databaseUrl,
    concurrency: config.workerConcurrency,
    taskList: loggedTasks(tasks, wlog),
    logger: workerLogger(),
    noHandleSignals: true,
    pollInterval: 1000,
    preset: {
      worker: {
        // Measured with bench/fleet.ts: fetching jobs a batch at a time and completing them in
        // batches removes two transactions per reconcile. A job held in the local queue when a
        // worker dies is retried after its lock expires, and the sweep re-enqueues stale work first.
        localQueue: { size: config.workerConcurrency * LOCAL_QUEUE_PER_SLOT },
        completeJobBatchDelay: 0,
      },
    },
  });
  await scheduleSweep(sql, 0);
  return runner;
}

/** One sweep job at a time across all workers, thanks to its key. */
async function scheduleSweep(sql: Sql, delaySeconds: number): Promise<void> {
  await sql`select graphile_worker.add_job('sweep', '{}'::json,
    run_at := now() + make_interval(secs => ${delaySeconds}), job_key := 'sweep', job_key_mode := 'preserve_run_at')`;
}
