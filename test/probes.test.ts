import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.ts';
import { installSchema } from '../db/install.ts';
import { startControlPlane, type ControlPlane } from '../server/control-plane.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { OrreryClient } from '../client/graphql.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { waitFor } from './support/fixtures.ts';
import { startOrrery, type OrreryProcess } from './support/orrery-process.ts';
import { scrape } from './support/prometheus.ts';

// This file stops and starts its PostgreSQL: a server of its own, so the shared one (and the
// other files running beside this one) are never disturbed.
let root: string;
let pg: EmbeddedDatabase;
let pgPort: number;
let cp: ControlPlane;
const processes: OrreryProcess[] = [];
const ADMIN_TOKEN = `orr_u_probes-${process.pid}`;

async function startPostgres(): Promise<EmbeddedDatabase> {
  return startEmbeddedPostgres(path.join(root, 'data'), { port: pgPort, durable: false });
}

async function probe(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'orrery-probes-'));
  await chmod(root, 0o755); // the embedded server runs as the postgres user when we are root
  pgPort = await freePort();
  pg = await startPostgres();
  await installSchema(pg.url);
  cp = await startControlPlane({
    config: loadConfig({ port: 0, dataDir: path.join(root, 'cp'), metricsPort: undefined, leaseRenewSeconds: 1 }),
    databaseUrl: pg.url,
    api: true,
    worker: true,
  });
  await bootstrapAdmin(cp.sql, ADMIN_TOKEN);
});

afterAll(async () => {
  for (const p of processes) await p.stop();
  await cp?.stop();
  await pg?.stop();
  await rm(root, { recursive: true, force: true });
});

describe('/livez and /readyz', () => {
  it('the API process (with its worker) is live and ready, and says which checks passed', async () => {
    expect(await probe(`${cp.url}/livez`)).toEqual({ status: 200, body: { status: 'live' } });
    expect(await probe(`${cp.url}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', worker: 'ok' } },
    });
    expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
  });

  it('a database migrated past this code makes it unready, naming the migrations check', async () => {
    await cp.sql`insert into orrery_migrations (id, name, checksum) values (999999, '999999_from_the_future.sql', 'x')`;
    try {
      const r = await probe(`${cp.url}/readyz`);
      expect(r.status).toBe(503);
      expect(r.body.failing).toEqual(['migrations']);
      expect((r.body.checks as Record<string, string>).migrations).toBe('the database has migration 999999, newer than this code');
    } finally {
      await cp.sql`delete from orrery_migrations where id = 999999`;
    }
    expect((await probe(`${cp.url}/readyz`)).status).toBe(200);
  });

  it('fails while the database is down, stays live, and is ready again once it is back', { timeout: 120_000 }, async () => {
    await pg.stop();
    const down = await probe(`${cp.url}/readyz`);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(down.body.failing).toContain('database');
    expect((down.body.checks as Record<string, string>).database).not.toBe('ok');
    expect((await probe(`${cp.url}/livez`)).status).toBe(200);

    pg = await startPostgres();
    const back = await waitFor('ready again', () => probe(`${cp.url}/readyz`), (r) => r.status === 200, 30_000);
    expect(back.body).toEqual({ status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', worker: 'ok' } });
  });

  it('a worker process answers on --metrics-port, and its readiness names the worker check', async () => {
    const port = await freePort();
    const worker = startOrrery(['worker', '--metrics-port', String(port)], { DATABASE_URL: pg.url, ORRERY_DATA_DIR: path.join(root, 'worker') });
    processes.push(worker);
    const line = await worker.waitForLog('probes and metrics listening');
    expect(line.url).toBe(`http://127.0.0.1:${port}`);
    expect(await probe(`http://127.0.0.1:${port}/livez`)).toEqual({ status: 200, body: { status: 'live' } });
    expect(await probe(`http://127.0.0.1:${port}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', worker: 'ok' } },
    });
    expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
    // Its metrics are the worker's and the fleet's; it answers no GraphQL, so it has none of those.
    const m = await scrape(`http://127.0.0.1:${port}/metrics`);
    expect(m.has('orrery_reconcile_runs_total')).toBe(true);
    expect(m.has('orrery_job_queue_depth')).toBe(true);
    expect(m.has('orrery_graphql_operations_total')).toBe(false);
  });

  it('an API given --metrics-port serves /metrics only there, and its probes on both ports', async () => {
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    const api = startOrrery(['api', '--metrics-port', String(opsPort)], {
      DATABASE_URL: pg.url, ORRERY_PORT: String(apiPort), ORRERY_DATA_DIR: path.join(root, 'api'),
    });
    processes.push(api);
    await api.waitForLog('Orrery API listening');
    expect((await fetch(`http://127.0.0.1:${apiPort}/metrics`)).status).toBe(404);
    expect((await scrape(`http://127.0.0.1:${opsPort}/metrics`)).has('orrery_graphql_operations_total')).toBe(true);
    for (const p of [apiPort, opsPort]) {
      expect(await probe(`http://127.0.0.1:${p}/readyz`)).toEqual({
        status: 200,
        body: { status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok' } },
      });
    }
  });

  it('a host agent on --metrics-port is live at once, ready once enrolled, unready while the API cannot record its lease', { timeout: 60_000 }, async () => {
    const admin = new OrreryClient(cp.url!, ADMIN_TOKEN);
    const token = await enrollmentToken(admin);
    await admin.close();
    const port = await freePort();
    const agent = startOrrery(
      ['hostagent', '--driver', 'fake', '--name', 'probe-host', '--api', cp.url!, '--enrollment-token', token,
        '--state-dir', path.join(root, 'agent'), '--heartbeat', '1', '--metrics-port', String(port)],
      {},
    );
    processes.push(agent);
    await agent.waitForLog('probes and metrics listening');
    expect((await probe(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    const ready = await waitFor('agent ready', () => probe(`http://127.0.0.1:${port}/readyz`), (r) => r.status === 200, 30_000);
    expect(ready.body).toEqual({ status: 'ready', failing: [], checks: { enrolled: 'ok', 'control-plane': 'ok' } });
    // Its own metrics: the driver calls its loop made so far (listing domains), timed.
    const m = await scrape(`http://127.0.0.1:${port}/metrics`);
    expect(m.value('orrery_agent_driver_call_duration_seconds_count', { operation: 'list' })).toBeGreaterThan(0);
    expect(m.has('orrery_agent_converge_duration_seconds')).toBe(true);
    expect(m.has('orrery_graphql_operations_total')).toBe(false);
    const [host] = await cp.sql<{ name: string }[]>`select name from hosts where name = 'probe-host'`;
    expect(host?.name).toBe('probe-host');

    // With the database down the API cannot renew its lease and closes its socket: not ready.
    await pg.stop();
    try {
      const cut = await waitFor('agent unready', () => probe(`http://127.0.0.1:${port}/readyz`), (r) => r.status === 503, 20_000);
      expect(cut.body.failing).toEqual(['control-plane']);
      expect((cut.body.checks as Record<string, string>)['control-plane']).toMatch(/^control plane unreachable: /);
    } finally {
      pg = await startPostgres();
    }
    await waitFor('agent ready again', () => probe(`http://127.0.0.1:${port}/readyz`), (r) => r.status === 200, 30_000);
  });

  it('hollow hosts (--hosts N) share one listener: ready once every one of them is', async () => {
    const admin = new OrreryClient(cp.url!, ADMIN_TOKEN);
    const token = await enrollmentToken(admin);
    await admin.close();
    const port = await freePort();
    const fleet = startOrrery(
      ['hostagent', '--driver', 'fake', '--hosts', '3', '--name-prefix', 'probe-hollow-', '--api', cp.url!, '--enrollment-token', token,
        '--state-dir', path.join(root, 'hollow'), '--heartbeat', '1'],
      { ORRERY_AGENT_METRICS_PORT: String(port) },
    );
    processes.push(fleet);
    await fleet.waitForLog('probes and metrics listening');
    const ready = await waitFor('fleet ready', () => probe(`http://127.0.0.1:${port}/readyz`), (r) => r.status === 200, 30_000);
    expect(ready.body).toEqual({ status: 'ready', failing: [], checks: { enrolled: 'ok', 'control-plane': 'ok' } });
    const hosts = await cp.sql<{ name: string }[]>`select name from hosts where name like 'probe-hollow-%' order by name`;
    expect(hosts.map((h) => h.name)).toEqual(['probe-hollow-1', 'probe-hollow-2', 'probe-hollow-3']);
  });
});
