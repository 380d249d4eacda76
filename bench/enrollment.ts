/**
 * Enrollment benchmark: a fresh PostgreSQL, the API as its own `orrery api` process, and N hollow
 * hosts in one `orrery hostagent --hosts N` process enrolling from scratch until every one is
 * watching. Prints seconds and CPU seconds per process (API, hosts, PostgreSQL), medians over runs.
 *
 *   npm run bench:enroll                      1,000 hosts, 3 runs
 *   options: --hosts 1000,5000  --runs 3  --start-concurrency 25  --cpu-prof DIR (API and hosts write V8 CPU profiles)
 *
 * DATABASE_URL (a server where it may create and drop databases) replaces the embedded PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OrreryClient } from '../client/graphql.ts';
import { connect } from '../db/connect.ts';
import { freePort } from '../db/embedded.ts';
import { startOrrery } from '../test/support/orrery-process.ts';
import { benchPostgres, dropDatabase, freshDatabase } from './fleet-db.ts';
import { postgresCpuSeconds, ProcessGroup } from './fleet-processes.ts';
import { median, parseRuns, printTable } from './stats.ts';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const settings = {
  hosts: option('--hosts', '1000').split(',').map(Number),
  runs: parseRuns(process.argv, 3),
  startConcurrency: option('--start-concurrency', '25'),
  cpuProfileDir: process.argv.includes('--cpu-prof') ? path.resolve(option('--cpu-prof', '')) : undefined,
};

interface Run {
  seconds: number;
  apiCpu: number;
  hostsCpu: number;
  postgresCpu: number;
}

/** One enrollment of `hosts` hollow hosts on a fresh database, measured from the hostagent's start to its "all enrolled". */
async function enrollOnce(baseUrl: string, work: string, hosts: number, run: number): Promise<Run> {
  const dbName = `enroll_${hosts}_${run}`;
  const url = await freshDatabase(baseUrl, dbName);
  const token = `orr_u_${randomBytes(32).toString('base64url')}`;
  const group = new ProcessGroup();
  const profile = settings.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProfileDir] : [];
  const dir = path.join(work, dbName);
  const sql = connect(url, { max: 1 });
  try {
    const port = await freePort();
    const api = group.add('api', startOrrery(['api'], {
      DATABASE_URL: url, ORRERY_ADMIN_TOKEN: token, ORRERY_DATA_DIR: path.join(dir, 'api'), ORRERY_PORT: String(port),
    }, profile));
    await api.waitForLog('Orrery API listening');
    const apiUrl = `http://127.0.0.1:${port}`;
    const admin = new OrreryClient(apiUrl, token);
    const enroll = await admin.request(`mutation { createEnrollmentToken(description: "bench") {
      ... on CreateEnrollmentTokenSuccess { token { secret } } } }`);
    await admin.close();
    const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const before = { stats: await group.stats(), pg: await postgresCpuSeconds(pid!).catch(() => NaN) };
    const started = Date.now();
    const fleet = group.add('hosts', startOrrery(['hostagent', '--driver', 'fake', '--hosts', String(hosts), '--name-prefix', 'hollow-',
      '--api', apiUrl, '--enrollment-token', enroll.createEnrollmentToken.token.secret, '--state-dir', path.join(dir, 'hosts'),
      '--heartbeat', '10', '--resync', '120', '--start-concurrency', settings.startConcurrency], {}, profile));
    await fleet.waitForLog('all hollow hosts enrolled', 60_000 + hosts * 100);
    const seconds = (Date.now() - started) / 1000;
    const after = { stats: await group.stats(), pg: await postgresCpuSeconds(pid!).catch(() => NaN) };
    const cpu = (role: string) => (after.stats.get(role)?.cpuSeconds ?? NaN) - (before.stats.get(role)?.cpuSeconds ?? 0);
    return { seconds, apiCpu: cpu('api'), hostsCpu: cpu('hosts'), postgresCpu: after.pg - before.pg };
  } finally {
    await group.stopAll();
    await sql.end();
    await dropDatabase(baseUrl, dbName);
    await rm(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main() {
  const work = await mkdtemp(path.join(os.tmpdir(), 'orrery-bench-enroll-'));
  let stopDb = async () => {};
  try {
    const server = await benchPostgres(work);
    stopDb = server.stop;
    const baseUrl = server.baseUrl;
    console.log(`Enrollment benchmark: ${settings.hosts.join(', ')} hollow hosts, ${settings.runs} run(s) each, start concurrency ` +
      `${settings.startConcurrency}; ${os.cpus().length} cores, Node ${process.version}; load average ${os.loadavg()[0]!.toFixed(1)}`);
    const rows: string[][] = [['hosts', 'seconds', 'hosts/s', 'api CPU s', 'hosts CPU s', 'PostgreSQL CPU s', 'runs (s)']];
    for (const hosts of settings.hosts) {
      const runs: Run[] = [];
      for (let r = 0; r < settings.runs; r++) {
        runs.push(await enrollOnce(baseUrl, work, hosts, r));
        console.log(`  ${hosts} hosts, run ${r + 1}: ${fmt(runs.at(-1)!.seconds)} s`);
      }
      const m = (k: keyof Run) => median(runs.map((x) => x[k]));
      rows.push([String(hosts), fmt(m('seconds')), fmt(hosts / m('seconds'), 0), fmt(m('apiCpu')), fmt(m('hostsCpu')), fmt(m('postgresCpu')),
        runs.map((x) => fmt(x.seconds)).join(' ')]);
    }
    printTable(`Enrollment from scratch until watching (medians; load average now ${os.loadavg()[0]!.toFixed(1)})`, rows);
  } finally {
    await stopDb();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
