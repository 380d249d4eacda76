import { Batcher } from '../../core/batcher.ts';
import type { Sql } from '../../db/connect.ts';
import { placeBatch } from './place-batch.ts';
import type { ReconcileDeps } from './result.ts';

/** Placement transactions of one process at a time: one in the database while the next is scheduled. */
const IN_FLIGHT = 2;
/** Jobs taken into one placement at most (their instances still go PLACE_CHUNK to a transaction). */
const JOBS_PER_PLACEMENT = 16;

export interface JobOutcome {
  placed: number;
  /** Handed to the one-at-a-time reconcile (see placeBatch). */
  deferred: number;
}

/**
 * The place_instances jobs of one process, placed together when they wait: a job that arrives
 * while IN_FLIGHT placements run joins the next one with every other job waiting, so a burst of
 * createInstances requests shares transactions (and each host's usage update) instead of paying
 * for each request's own. A lone job goes at once. A failed placement fails every job in it, and
 * each is retried on its own; placing is idempotent.
 */
export class PlacementQueue {
  private readonly batcher: Batcher<string[], JobOutcome>;

  constructor(sql: Sql, deps: ReconcileDeps) {
    this.batcher = new Batcher((jobs) => placeJobs(sql, jobs, deps), {
      lingerMs: 0,
      maxBatch: JOBS_PER_PLACEMENT,
      maxInFlight: IN_FLIGHT,
    });
  }

  place(ids: string[]): Promise<JobOutcome> {
    return this.batcher.add(ids);
  }
}

async function placeJobs(sql: Sql, jobs: string[][], deps: ReconcileDeps): Promise<JobOutcome[]> {
  const r = await placeBatch(sql, [...new Set(jobs.flat())], deps);
  return jobs.map((ids) => ({
    placed: ids.filter((id) => r.placed.has(id)).length,
    deferred: ids.filter((id) => r.deferred.has(id)).length,
  }));
}
