import { Counter, Histogram, type Metric, type Registry } from 'prom-client';

// The job worker's metrics: defined once per process, registered in each control plane's
// registry that runs a worker (see registry.ts).

export const reconcileRuns = new Counter({
  name: 'orrery_reconcile_runs_total',
  help: 'Jobs run by the worker, by task (reconcile_instance, place_instances, sweep, …) and result (success, error: graphile-worker retries it)',
  labelNames: ['task', 'result'] as const,
  registers: [],
});

export const reconcileDuration = new Histogram({
  name: 'orrery_reconcile_duration_seconds',
  help: 'Time one job took, by task',
  labelNames: ['task'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [],
});

export const placementDecisions = new Counter({
  name: 'orrery_placement_decisions_total',
  help: 'Scheduling decisions, by path (single: one instance or a move; batch: new instances placed together) and result (claimed, retry: every claim lost a race, no_valid_host, deferred: handed from a batch to the single path)',
  labelNames: ['path', 'result'] as const,
  registers: [],
});

export const claimConflicts = new Counter({
  name: 'orrery_placement_claim_conflicts_total',
  help: "Claims the allocations trigger refused (the host had filled up since it was chosen, usually by a concurrent placement), by path",
  labelNames: ['path'] as const,
  registers: [],
});

export const noValidHost = new Counter({
  name: 'orrery_placement_no_valid_host_total',
  help: 'NoValidHost answers, once for each filter that rejected at least one host in them (filter "none": no hosts are enrolled)',
  labelNames: ['filter'] as const,
  registers: [],
});

export function registerWorkerMetrics(registry: Registry): void {
  const all: Metric[] = [reconcileRuns, reconcileDuration, placementDecisions, claimConflicts, noValidHost];
  for (const m of all) registry.registerMetric(m);
}
