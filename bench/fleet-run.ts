import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OrreryClient } from '../client/graphql.ts';
import { connect, type Sql } from '../db/connect.ts';
import { issueToken } from '../store/tokens.ts';
import { freePort } from '../db/embedded.ts';
import { startOrrery } from '../test/support/orrery-process.ts';
import { dropDatabase, freshDatabase } from './fleet-db.ts';
import { postgresCpuSeconds, ProcessGroup, type ProcessStats } from './fleet-processes.ts';
import type { Progress } from './fleet-progress.ts';
import { submitInstances } from './fleet-submit.ts';
import { WaitSampler } from './fleet-waits.ts';
import { dbCounters, diffWorkerCounters, perInstance, workerCounters, type DbCounters, type WorkerCounters } from './fleet-counters.ts';
import { median, percentile } from './stats.ts';

export interface RunOptions {
  baseUrl: string;
  workDir: string;
  workers: number;
  apis: number;
  hosts: number;
  instances: number;
  batch: number;
  clients: number;
  /** Projects the clients submit into (round robin); quotas serialise creates within one project. */
  projects: number;
  timeoutSeconds: number;
  /** Instances per second submitted in all (0: as fast as the API accepts them). */
  ratePerSecond: number;
  /** Where the API, worker and hollow-host processes write V8 CPU profiles (on exit), if anywhere. */
  cpuProfileDir?: string;
  /** Where to append the run's busiest statements (needs a server with pg_stat_statements preloaded). */
  statementsFile?: string;
  progress: Progress;
}

export interface RunResult {
  workers: number;
  active: number;
  errors: number;
  hostsReadySeconds: number;
  /** From the first createInstance sent to the last instance ACTIVE (or the time-out). */
  seconds: number;
  submitSeconds: number;
  latencies: number[];
  /** Per instance, ms spent in each step: create → placed, placed → build reported, reported → ACTIVE. */
  stages: { placing: number[]; building: number[]; settling: number[] };
  /** Placements per second between the first and the last placement. */
  placementsPerSecond: number;
  transactionsPerInstance: number;
  /** Average busy database sessions per state while instances were submitted and built. */
  waits: { what: string; sessions: number }[];
  roles: Map<string, ProcessStats & { count: number }>;
  /** CPU seconds per role between the first createInstances and the last ACTIVE (no start-up, no enrollment). */
  cpuDuring: Map<string, number>;
  /** pg_stat_database over the same window, per instance. */
  db: DbCounters;
  /** Average sessions waiting on a heavyweight lock (pg_stat_activity sampled 4×/s). */
  lockWaitSessions: number;
  /** Each worker process's jobs and placements over the window (from its /metrics), and its CPU seconds then. */
  perWorker: (WorkerCounters & { cpuSeconds: number; idleCpuPerMinute: number })[];
  /** CPU seconds of the PostgreSQL server over the window (NaN if it is not on this machine). */
  postgresCpuSeconds: number;
  /** Load average (1 min) when the submission started and when the last instance went ACTIVE. */
  load: [number, number];
  dbSizeMb: number;
}

/** `n` projects with unlimited quotas, each with a member user; returns one token per project. */
async function benchTenants(sql: Sql, n: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const [p] = await sql<{ id: string }[]>`insert into projects (name) values (${'bench-' + i}) returning id`;
    const [u] = await sql<{ id: string }[]>`insert into users (name) values (${'bench-user-' + i}) returning id`;
    await sql`insert into role_assignments (user_id, project_id, role) values (${u!.id}, ${p!.id}, 'member')`;
    await sql`insert into quota_limits (project_id, resource, hard_limit) select ${p!.id}, resource, -1 from quota_defaults`;
    tokens.push((await issueToken(sql, { kind: 'user', userId: u!.id, projectId: p!.id })).secret);
  }
  return tokens;
}

const secondsSince = (t: number) => (Date.now() - t) / 1000;

async function counts(sql: Sql) {
  const [c] = await sql<{ placed: number; active: number; error: number }[]>`
    select count(*) filter (where host_id is not null)::int as placed,
           count(*) filter (where vm_state = 'active')::int as active,
           count(*) filter (where vm_state = 'error')::int as error
      from instances`;
  return c!;
}

/** The statements of this database by total time over the run (pg_stat_statements), appended to a file. */
async function appendStatements(sql: Sql, file: string, title: string): Promise<void> {
  const rows = await sql<{ calls: number; rows: number; total_ms: number; mean_ms: number; query: string }[]>`
    select s.calls::float8 as calls, s.rows::float8 as rows, s.total_exec_time as total_ms, s.mean_exec_time as mean_ms,
           left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) as query
      from pg_stat_statements s join pg_database d on d.oid = s.dbid
     where d.datname = current_database() and s.toplevel
     order by s.total_exec_time desc limit 40`;
  const lines = rows.map((r) => `${r.total_ms.toFixed(0).padStart(8)} ms ${String(r.calls).padStart(8)} calls ${r.mean_ms.toFixed(2).padStart(8)} ms/call ${String(r.rows).padStart(8)} rows  ${r.query}`);
  // Triggers and the functions they call (empty unless the server runs with track_functions = all).
  const functions = await sql<{ name: string; calls: number; self_ms: number; total_ms: number }[]>`
    select funcname as name, calls::float8 as calls, self_time as self_ms, total_time as total_ms
      from pg_stat_user_functions order by self_time desc limit 20`;
  const fnLines = functions.map((f) => `${f.self_ms.toFixed(0).padStart(8)} ms self ${f.total_ms.toFixed(0).padStart(8)} ms total ${String(f.calls).padStart(8)} calls  ${f.name}`);
  await appendFile(file, `\n## ${title}\n${lines.join('\n')}\n${fnLines.length ? `\nfunctions (self time):\n${fnLines.join('\n')}\n` : ''}`);
}

/**
 * One measured run on a fresh database: API and worker processes, one hollow-host process per API,
 * then instances submitted in bulk through GraphQL and followed until every one is ACTIVE.
 */
export async function fleetRun(o: RunOptions): Promise<RunResult> {
  const tag = `w${o.workers}`;
  const dbName = `fleet_${tag}`;
  const url = await freshDatabase(o.baseUrl, dbName);
  const token = `orr_u_${randomBytes(32).toString('base64url')}`;
  const group = new ProcessGroup();
  const env = (role: string) => ({ DATABASE_URL: url, ORRERY_ADMIN_TOKEN: token, ORRERY_DATA_DIR: path.join(o.workDir, tag, role) });
  const profile = o.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir] : [];
  const sql = connect(url, { max: 3 });
  const waits = new WaitSampler(sql);
  try {
    const apiUrls: string[] = [];
    for (let a = 0; a < o.apis; a++) {
      const port = await freePort();
      // Every hollow host enrolls with the one enrollment token, whose mutation budget is one user's:
      // a burst the size of the fleet, as an operator enrolling a fleet at once would allow.
      const burst = String(Math.max(1000, o.hosts + 1000));
      const api = group.add('api', startOrrery(['api'], { ...env(`api-${a}`), ORRERY_PORT: String(port), ORRERY_MUTATION_BURST: burst }, profile));
      await api.waitForLog('Orrery API listening');
      apiUrls.push(`http://127.0.0.1:${port}`);
    }
    const metricsUrls: string[] = [];
    const workers = [];
    for (let w = 0; w < o.workers; w++) {
      const port = await freePort();
      metricsUrls.push(`http://127.0.0.1:${port}`);
      workers.push(group.add('worker', startOrrery(['worker'], { ...env(`worker-${w}`), ORRERY_METRICS_PORT: String(port) }, profile)));
    }
    await Promise.all(workers.map((w) => w.waitForLog('Orrery worker running')));
    const workersReady = Date.now();
    const workerCpuReady = await group.cpuOf('worker');

    const admin = new OrreryClient(apiUrls[0]!, token);
    const [project] = await sql<{ id: string }[]>`select id from projects where name = 'admin'`;
    const tenants = await benchTenants(sql, o.projects);
    const tokens = Array.from({ length: o.clients }, (_, c) => tenants[c % tenants.length]!);
    await sql`insert into images (name, owner_project_id, visibility, disk_format, status, checksum, size_bytes)
              values ('bench-image', ${project!.id}, 'public', 'qcow2', 'active', ${'0'.repeat(64)}, 0)`;
    await admin.request(`mutation { createFlavor(input: {name: "bench.small", vcpus: 1, ramMb: 512, diskGb: 1}) { __typename } }`);
    const enroll = await admin.request(`mutation { createEnrollmentToken(description: "bench") {
      ... on CreateEnrollmentTokenSuccess { token { secret } } } }`);
    await admin.close();

    const hostsStarted = Date.now();
    const fleets = apiUrls.map((api, a) => {
      const n = Math.floor(o.hosts / o.apis) + (a < o.hosts % o.apis ? 1 : 0);
      const args = ['hostagent', '--driver', 'fake', '--hosts', String(n), '--name-prefix', `hollow-${a}-`, '--api', api,
        '--enrollment-token', enroll.createEnrollmentToken.token.secret, '--state-dir', path.join(o.workDir, tag, `hosts-${a}`),
        '--heartbeat', '10', '--resync', '120', '--start-concurrency', '25'];
      return group.add('hosts', startOrrery(args, {}, profile));
    });
    const ready = Promise.all(fleets.map((f) => f.waitForLog('all hollow hosts enrolled', 60_000 + o.hosts * 50)));
    for (let done = false; !done; ) {
      done = await Promise.race([ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
      const [h] = await sql<{ n: number }[]>`select count(*)::int as n from hosts`;
      o.progress.update(`[${tag}] hollow hosts enrolled ${h!.n}/${o.hosts} · ${secondsSince(hostsStarted).toFixed(0)} s`);
    }
    const hostsReadySeconds = secondsSince(hostsStarted);
    o.progress.done(`[${tag}] ${o.hosts} hollow hosts enrolled and watching in ${hostsReadySeconds.toFixed(1)} s`);

    const cpuBefore = await group.stats();
    const workerCpuBefore = await group.cpuOf('worker');
    const idleMinutes = (Date.now() - workersReady) / 60_000;
    const jobsBefore = await Promise.all(metricsUrls.map(workerCounters));
    await new Promise((r) => setTimeout(r, 1500)); // idle backends publish their counters within a second
    if (o.statementsFile) {
      await sql`create extension if not exists pg_stat_statements`.then(() => sql`select pg_stat_statements_reset()`);
      // The database's own counters (pg_stat_database) are read as a difference; only the functions' start at zero.
      await sql`select pg_stat_reset_single_function_counters(funcid) from pg_stat_user_functions`;
    }
    const dbBefore = await dbCounters(sql);
    const [{ pid: backendPid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pgCpu = () => postgresCpuSeconds(backendPid!).catch(() => NaN);
    const pgCpuBefore = await pgCpu();
    const loadBefore = os.loadavg()[0]!;
    waits.start();
    const started = Date.now();
    let submitted = 0;
    let submitSeconds = NaN;
    const submission = submitInstances({
      apiUrls, tokens, count: o.instances, batch: o.batch, flavor: 'bench.small', image: 'bench-image', ratePerSecond: o.ratePerSecond,
      onProgress: (n) => (submitted = n),
    }).finally(() => (submitSeconds = secondsSince(started)));
    let c = await counts(sql);
    let failure: unknown = null;
    submission.catch((e: unknown) => (failure = e));
    while (c.active + c.error < o.instances && !failure && secondsSince(started) < o.timeoutSeconds) {
      await new Promise((r) => setTimeout(r, 1000));
      c = await counts(sql);
      o.progress.update(
        `[${tag}] submitted ${submitted}/${o.instances} · placed ${c.placed} · ACTIVE ${c.active} · error ${c.error} · ${secondsSince(started).toFixed(0)} s`,
      );
    }
    if (failure) {
      console.error(`\n${group.tails()}`);
      throw failure;
    }
    const seconds = secondsSince(started);
    const loadAfter = os.loadavg()[0]!;
    waits.stop();
    const cpuAfter = await group.stats();
    const workerCpuAfter = await group.cpuOf('worker');
    const pgCpuAfter = await pgCpu();
    await new Promise((r) => setTimeout(r, 1500));
    const dbAfter = await dbCounters(sql);
    const jobsAfter = await Promise.all(metricsUrls.map(workerCounters));
    if (o.statementsFile) await appendStatements(sql, o.statementsFile, `${tag}, ${o.instances} instances`);
    await submission;
    o.progress.done(`[${tag}] ${c.active}/${o.instances} ACTIVE (${c.error} error) after ${seconds.toFixed(1)} s`);

    const roles = await group.stats();
    const cpuDuring = new Map([...cpuAfter].map(([role, a]) => [role, a.cpuSeconds - (cpuBefore.get(role)?.cpuSeconds ?? 0)]));
    // createInstance's own transaction wrote created_at; the reconcile that made it ACTIVE wrote launched_at.
    const launched = await sql<{ ms: number }[]>`
      select extract(epoch from launched_at - created_at)::float8 * 1000 as ms from instances where launched_at is not null`;
    const latencies = launched.map((r) => r.ms);
    // Each time is the start of the transaction that wrote it (schedule event, applied report, ACTIVE).
    const steps = await sql<{ placing: number; building: number; settling: number }[]>`
      select extract(epoch from e.started_at - i.created_at)::float8 * 1000 as placing,
             extract(epoch from i.agent_reported_at - e.started_at)::float8 * 1000 as building,
             extract(epoch from i.launched_at - i.agent_reported_at)::float8 * 1000 as settling
        from instances i
        join instance_actions a on a.instance_id = i.id and a.action = 'create'
        join instance_action_events e on e.action_id = a.id and e.event = 'schedule' and e.result = 'success'
       where i.launched_at is not null`;
    const stages = {
      placing: steps.map((r) => r.placing),
      building: steps.map((r) => r.building),
      settling: steps.map((r) => r.settling),
    };
    const [p] = await sql<{ n: number; span: number }[]>`
      select count(*)::int as n, extract(epoch from max(started_at) - min(started_at))::float8 as span
        from instance_action_events where event = 'schedule' and result = 'success'`;
    const [size] = await sql<{ mb: number }[]>`select pg_database_size(current_database())::float8 / 1048576 as mb`;
    return {
      workers: o.workers,
      active: c.active,
      errors: c.error,
      hostsReadySeconds,
      seconds,
      submitSeconds,
      latencies,
      stages,
      placementsPerSecond: p!.n / Math.max(p!.span, 0.001),
      transactionsPerInstance: (dbAfter.xacts - dbBefore.xacts) / o.instances,
      waits: waits.top(),
      roles,
      cpuDuring,
      db: perInstance(dbBefore, dbAfter, o.instances),
      lockWaitSessions: waits.lockSessions(),
      perWorker: jobsAfter.map((a, i) => ({
        ...diffWorkerCounters(jobsBefore[i]!, a),
        cpuSeconds: workerCpuAfter[i]! - workerCpuBefore[i]!,
        idleCpuPerMinute: (workerCpuBefore[i]! - workerCpuReady[i]!) / idleMinutes,
      })),
      postgresCpuSeconds: pgCpuAfter - pgCpuBefore,
      load: [loadBefore, loadAfter],
      dbSizeMb: size!.mb,
    };
  } finally {
    waits.stop();
    await group.stopAll();
    await sql.end();
    await dropDatabase(o.baseUrl, dbName);
  }
}

export const latencySummary = (r: RunResult) => ({ median: median(r.latencies), p99: percentile(r.latencies, 99) });
