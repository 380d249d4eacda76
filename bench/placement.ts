/**
 * Placement throughput on 1k and 10k hosts with the default filters, beside pgbench's
 * simple-update TPS (`pgbench -N`) on the same PostgreSQL in the same run.
 *
 * Each placement is the real code path: `reconcileInstance` (the function the graphile-worker
 * task runs) takes the instance row lock, reads the scheduler config, runs the coarse SQL
 * filter, the filters and weighers, claims through the allocations trigger and binds the
 * instance, in one transaction. `--clients N` callers run at once (default 4, as pgbench's -c).
 *
 *   npm run bench:placement [-- --runs 1000 --clients 4]
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect, type Sql } from '../db/connect.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { installSchema } from '../db/install.ts';
import { reconcileInstance } from '../reconciler/instance/reconcile.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { median, parseRuns, percentile, printTable } from './stats.ts';

const run = promisify(execFile);
const PGBENCH = process.env.PGBENCH ?? '/usr/lib/postgresql/15/bin/pgbench';
const SIZES = [1_000, 10_000];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function freshDatabase(baseUrl: string, name: string): Promise<string> {
  const admin = connect(baseUrl, { max: 1 });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return withDatabase(baseUrl, name);
}

/** A fleet like a real one: 5% disabled, 2% forced down, three zones, sizes that vary. */
async function seed(sql: Sql, hosts: number, instances: number): Promise<string[]> {
  const admin = await bootstrapAdmin(sql);
  await sql`insert into availability_zones (name) values ('az1'), ('az2'), ('az3')`;
  await sql`
    insert into hosts (name, zone_id, vcpus, memory_mb, disk_gb, last_heartbeat_at, enabled, forced_down,
                       hypervisor_type, hypervisor_version, architecture)
    select 'h-' || g, (select id from availability_zones order by name offset g % 3 limit 1),
           32 + (g % 4) * 16, 131072 + (g % 8) * 16384, 2000, now(), g % 20 <> 0, g % 50 = 7, 'QEMU', '8.2.0', 'x86_64'
      from generate_series(1, ${hosts}) g`;
  await sql`analyze hosts`;
  const [f] = await sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('b.small', 2, 4096, 20) returning id`;
  const [i] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const rows = await sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${admin.projectId}, ${admin.userId}, 'b-' || g, ${f!.id}, ${i!.id} from generate_series(1, ${instances}) g returning id`;
  return rows.map((r) => r.id);
}

async function placeAll(url: string, ids: string[], clients: number): Promise<{ perSecond: number; latencies: number[] }> {
  const sql = connect(url, { max: clients });
  const deps = { config: loadConfig({ serviceDownSeconds: 3600 }), log: rootLog() };
  const latencies: number[] = [];
  const queue = [...ids];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        const t = performance.now();
        const r = await reconcileInstance(sql, id, deps);
        if (!r.outcome.startsWith('placed')) throw new Error(`instance ${id} not placed: ${r.outcome}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await sql.end();
  return { perSecond: ids.length / seconds, latencies };
}

async function pgbenchTps(baseUrl: string, clients: number): Promise<number> {
  const url = await freshDatabase(baseUrl, 'pgbench_scratch');
  const u = new URL(url);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  const conn = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username)];
  await run(PGBENCH, ['-i', '-s', '10', '-q', ...conn, 'pgbench_scratch'], { env });
  const { stdout } = await run(PGBENCH, ['-N', '-c', String(clients), '-j', '2', '-T', '20', ...conn, 'pgbench_scratch'], { env });
  const m = /tps = ([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`no tps in pgbench output:\n${stdout}`);
  return Number(m[1]);
}

async function main() {
  const runs = parseRuns(process.argv, 1000);
  const clients = arg('--clients', 4);
  let baseUrl = process.env.DATABASE_URL;
  let stopDb = async () => {};
  const work = await mkdtemp(path.join(os.tmpdir(), 'orrery-bench-placement-'));
  if (!baseUrl) {
    await chmod(work, 0o755); // the embedded server runs as the postgres user when we are root
    const db = await startEmbeddedPostgres(path.join(work, 'pg'));
    baseUrl = db.url;
    stopDb = db.stop;
  }
  try {
    const rows = [['hosts', 'placements', 'placements/s', 'median ms', 'p99 ms']];
    const perSecond: number[] = [];
    for (const size of SIZES) {
      const url = await freshDatabase(baseUrl, `orrery_bench_${size}`);
      await installSchema(url);
      const seedSql = connect(url, { max: 1 });
      const ids = await seed(seedSql, size, runs);
      await seedSql.end();
      const r = await placeAll(url, ids, clients);
      perSecond.push(r.perSecond);
      rows.push([String(size), String(runs), r.perSecond.toFixed(0), median(r.latencies).toFixed(1), percentile(r.latencies, 99).toFixed(1)]);
    }
    const tps = await pgbenchTps(baseUrl, clients);
    printTable(`Placement with the default filters, ${clients} concurrent callers of reconcileInstance`, rows);
    printTable('pgbench -N (simple update), same server, same run', [
      ['clients', 'tps'],
      [String(clients), tps.toFixed(0)],
    ]);
    printTable('Ratio: placements per second ÷ pgbench TPS', [
      ['hosts', 'ratio'],
      ...SIZES.map((s, i) => [String(s), (perSecond[i]! / tps).toFixed(3)]),
    ]);
  } finally {
    await stopDb();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
