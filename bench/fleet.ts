/**
 * Fleet-scale benchmark: a fresh PostgreSQL, the control plane as separate `orrery api` and
 * `orrery worker` processes (1, 2 and 4 workers), hollow hosts in their own process, and
 * instances submitted in bulk through GraphQL until all are ACTIVE. Then the per-placement cost
 * at 1k, 10k and 100k hosts, and pgbench simple-update TPS on the same server as the yardstick.
 *
 *   npm run bench:fleet                      1,000 hosts × 10,000 instances
 *   npm run bench:fleet -- --large           10,000 hosts × 100,000 instances
 *   options: --workers 1,2,4  --apis 1  --hosts N  --instances N  --batch 50  --clients 8  --projects 8
 *            --timeout 900  --placement-samples 300  --runs-only (skip the placement sweep and pgbench)
 *            --placement-only (skip the fleet runs)  --sizes 1000,10000,100000 (host counts of the placement sweep)
 *            --rate N (submit at most N instances/s in all, to measure latency below saturation; default: flat out)
 *            --cpu-prof DIR (the API, worker and hollow-host processes write V8 CPU profiles there when they stop)
 *            --statements FILE (append each run's busiest statements from pg_stat_statements: a DATABASE_URL
 *              server started with shared_preload_libraries=pg_stat_statements)
 *
 * DATABASE_URL (a server where it may create and drop databases) replaces the embedded PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchPostgres } from './fleet-db.ts';
import { pgbenchSimpleUpdate } from './fleet-pgbench.ts';
import { placementCost } from './fleet-placement.ts';
import { batchPlacementThroughput, type BatchThroughput } from './fleet-placement-batch.ts';
import { Progress } from './fleet-progress.ts';
import { fleetRun, latencySummary, type RunResult } from './fleet-run.ts';
import { median, percentile, printTable } from './stats.ts';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const large = process.argv.includes('--large');
/** Only the fleet runs: no placement-cost sweep, no pgbench (for quick A/B comparisons). */
const runsOnly = process.argv.includes('--runs-only');
/** Only the placement sweep and pgbench: no fleet runs (for quick A/B comparisons of placement). */
const placementOnly = process.argv.includes('--placement-only');
const settings = {
  workers: option('--workers', '1,2,4').split(',').map(Number),
  apis: Number(option('--apis', '1')),
  hosts: Number(option('--hosts', large ? '10000' : '1000')),
  instances: Number(option('--instances', large ? '100000' : '10000')),
  batch: Number(option('--batch', '50')),
  clients: Number(option('--clients', '8')),
  projects: Number(option('--projects', '8')),
  timeoutSeconds: Number(option('--timeout', large ? '1800' : '900')),
  placementSamples: Number(option('--placement-samples', '300')),
  ratePerSecond: Number(option('--rate', '0')),
  cpuProfileDir: process.argv.includes('--cpu-prof') ? path.resolve(option('--cpu-prof', '')) : undefined,
  statementsFile: process.argv.includes('--statements') ? path.resolve(option('--statements', '')) : undefined,
  sweepSizes: option('--sizes', '1000,10000,100000').split(',').map(Number),
};

/** Instances placed in the batched-throughput measurement, per fleet size. */
const BATCH_PLACEMENTS = 20_000;

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main() {
  const work = await mkdtemp(path.join(os.tmpdir(), 'orrery-bench-fleet-'));
  const progress = new Progress();
  let stopDb = async () => {};
  const cleanup = async () => {
    await stopDb();
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const server = await benchPostgres(work);
    stopDb = server.stop;
    const baseUrl = server.baseUrl;
    console.log(`Fleet benchmark: ${settings.hosts} hollow hosts × ${settings.instances} instances; ` +
      `workers ${settings.workers.join(', ')}; ${settings.apis} API process(es); ` +
      `${settings.batch} per createInstances request; ${settings.ratePerSecond > 0 ? `at most ${settings.ratePerSecond}/s` : 'flat out'}; ` +
      `${os.cpus().length} cores, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${os.loadavg()[0]!.toFixed(1)}`);
    const runs: RunResult[] = [];
    for (const workers of placementOnly ? [] : settings.workers) {
      runs.push(await fleetRun({ ...settings, baseUrl, workers, workDir: work, progress }));
    }
    const costs = [];
    for (const hosts of runsOnly ? [] : settings.sweepSizes) {
      progress.update(`per-placement cost at ${hosts} hosts…`);
      costs.push(await placementCost(baseUrl, hosts, settings.placementSamples));
    }
    const batches: BatchThroughput[] = [];
    for (const hosts of runsOnly ? [] : settings.sweepSizes) {
      progress.update(`batched placement throughput at ${hosts} hosts…`);
      batches.push(await batchPlacementThroughput(baseUrl, hosts, BATCH_PLACEMENTS, { callers: 4, jobSize: settings.batch }));
    }
    progress.update('pgbench -N, scale 10, 8 clients, 20 s…');
    const tps = runsOnly ? NaN : await pgbenchSimpleUpdate(baseUrl);
    progress.done(`measurements done; load average ${os.loadavg()[0]!.toFixed(1)}`);
    report(runs, costs, batches, tps);
  } finally {
    await cleanup();
  }
}

function report(runs: RunResult[], costs: { hosts: number; samples: number[] }[], batches: BatchThroughput[], tps: number): void {
  if (runs.length > 0) reportRuns(runs);
  if (costs.length === 0) return;
  const base = median(costs[0]!.samples);
  printTable('Per-placement cost (one reconcileInstance at a time; hosts inserted by SQL)', [
    ['hosts', 'median ms', 'p99 ms', '× 1k median'],
    ...costs.map((c) => [String(c.hosts), fmt(median(c.samples), 2), fmt(percentile(c.samples, 99), 2), fmt(median(c.samples) / base, 2)]),
  ]);
  printTable(`Batched placement throughput (${BATCH_PLACEMENTS} instances, jobs of ${settings.batch}, 4 at a time through the place_instances task's PlacementQueue; hosts and instances inserted by SQL)`, [
    ['hosts', 'placed', 'seconds', 'placements/s', '÷ pgbench TPS'],
    ...batches.map((b) => [String(b.hosts), String(b.placed), fmt(b.seconds, 1), fmt(b.placed / b.seconds), fmt(b.placed / b.seconds / tps, 2)]),
  ]);
  printTable('Yardstick: pgbench -N (scale 10, 8 clients, 20 s) on the same server', [
    ['pgbench TPS', ...runs.map((r) => `placements/s ÷ TPS (${r.workers}w)`)],
    [fmt(tps), ...runs.map((r) => fmt(r.placementsPerSecond / tps, 2))],
  ]);
}

function reportRuns(runs: RunResult[]): void {
  printTable(`${settings.hosts} hosts × ${settings.instances} instances (latency: instance row written by createInstance → launched_at, both DB clock)`, [
    ['workers', 'ACTIVE', 'error', 'all ACTIVE s', 'inst/s', 'submit s', 'lat p50 ms', 'lat p99 ms', 'placements/s', 'xacts/inst', 'hosts up s'],
    ...runs.map((r) => {
      const l = latencySummary(r);
      return [String(r.workers), String(r.active), String(r.errors), fmt(r.seconds, 1), fmt(r.active / r.seconds), fmt(r.submitSeconds, 1),
        fmt(l.median), fmt(l.p99), fmt(r.placementsPerSecond), fmt(r.transactionsPerInstance, 1), fmt(r.hostsReadySeconds, 1)];
    }),
  ]);
  printTable('Where the latency goes (ms per instance, p50 / p99): create → placed → build reported by the agent → ACTIVE', [
    ['workers', 'placing', 'building', 'settling'],
    ...runs.map((r) => [String(r.workers), ...(['placing', 'building', 'settling'] as const).map(
      (k) => `${fmt(median(r.stages[k]))} / ${fmt(percentile(r.stages[k], 99))}`)]),
  ]);
  printTable('Processes (peak RSS summed per role, CPU seconds over the whole run) and database size', [
    ['workers', 'api MiB', 'workers MiB', 'hosts MiB', 'api CPU s', 'workers CPU s', 'hosts CPU s', 'DB MiB'],
    ...runs.map((r) => {
      const g = (role: string) => r.roles.get(role) ?? { peakRssMb: NaN, cpuSeconds: NaN };
      return [String(r.workers), fmt(g('api').peakRssMb), fmt(g('worker').peakRssMb), fmt(g('hosts').peakRssMb),
        fmt(g('api').cpuSeconds), fmt(g('worker').cpuSeconds), fmt(g('hosts').cpuSeconds), fmt(r.dbSizeMb)];
    }),
  ]);
  printTable('During the run (first createInstances → last ACTIVE): load average at start → end, CPU seconds per role, PostgreSQL counters per instance (pg_stat_database), sessions waiting on locks', [
    ['workers', 'load', 'api CPU s', 'workers CPU s', 'hosts CPU s', 'PostgreSQL CPU s', 'xacts/inst', 'rollbacks/inst', 'ins/inst', 'upd/inst', 'del/inst', 'fetched/inst', 'returned/inst', 'lock-wait sessions'],
    ...runs.map((r) => [String(r.workers), `${fmt(r.load[0], 1)}→${fmt(r.load[1], 1)}`,
      fmt(r.cpuDuring.get('api') ?? NaN, 1), fmt(r.cpuDuring.get('worker') ?? NaN, 1), fmt(r.cpuDuring.get('hosts') ?? NaN, 1), fmt(r.postgresCpuSeconds, 1),
      fmt(r.db.xacts, 2), fmt(r.db.rollbacks, 3), fmt(r.db.inserted, 1), fmt(r.db.updated, 1), fmt(r.db.deleted, 1),
      fmt(r.db.fetched, 0), fmt(r.db.returned, 0), fmt(r.lockWaitSessions, 3)]),
  ]);
  printTable('Each worker process over the run: jobs run by task, failed jobs, instances it placed, CPU seconds; and its CPU while idle before (enrollment), per minute', [
    ['workers', 'worker', 'place_instances', 'complete_builds', 'reconcile_instance', 'other', 'failed', 'placed', 'CPU s', 'idle CPU s/min'],
    ...runs.flatMap((r) => r.perWorker.map((w, i) => {
      const j = (t: string) => w.jobs.get(t) ?? 0;
      const other = [...w.jobs].filter(([t]) => !['place_instances', 'complete_builds', 'reconcile_instance'].includes(t)).reduce((a, [, n]) => a + n, 0);
      return [String(r.workers), String(i + 1), fmt(j('place_instances')), fmt(j('complete_builds')), fmt(j('reconcile_instance')), fmt(other), fmt(w.failedJobs), fmt(w.placed), fmt(w.cpuSeconds, 2), fmt(w.idleCpuPerMinute, 2)];
    })),
  ]);
  for (const r of runs) {
    printTable(`Where the database sessions were, ${r.workers} worker(s) (average busy sessions, sampled 4×/s)`, [
      ['application and wait', 'sessions'],
      ...r.waits.map((w) => [w.what, fmt(w.sessions, 2)]),
    ]);
  }
}

await main();
process.exit(0);
