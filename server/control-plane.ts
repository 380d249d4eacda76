import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Runner } from 'graphile-worker';
import { connect, type Sql } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import type { Config } from '../core/config.ts';
import { rootLog, type Log } from '../core/log.ts';
import { serveOps, startOpsListener, type OpsEndpoints } from '../core/ops-http.ts';
import { Policy } from '../policies/policy.ts';
import { startWorker } from '../reconciler/worker.ts';
import { schema } from '../schema/index.ts';
import { ChangeFeed } from './change-feed.ts';
import { ConsoleProxy } from './console-proxy.ts';
import { mountGraphql } from './graphql-http.ts';
import { mountImageFiles } from './image-files.ts';
import { mountOpenstack } from '../openstack/mount.ts';
import { controlPlaneRegistry } from './metrics/registry.ts';
import { controlPlaneChecks } from './readiness.ts';

export interface ControlPlane {
  /** Base URL of the API, e.g. http://127.0.0.1:8774 (when the API runs). */
  url: string | null;
  /** Base URL of the listener of /livez, /readyz and /metrics on ORRERY_METRICS_PORT (when set). */
  opsUrl: string | null;
  sql: Sql;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  databaseUrl: string;
  api: boolean;
  worker: boolean;
  log?: Log;
}

/** Wiring only: schema, API, worker. Each part is stateless; run as many as you like. */
export async function startControlPlane(o: StartOptions): Promise<ControlPlane> {
  const log = o.log ?? rootLog();
  await installSchema(o.databaseUrl);
  const sql = connect(o.databaseUrl, { max: 20, applicationName: o.api ? 'orrery-api' : 'orrery-worker' });
  const stops: (() => Promise<void>)[] = [];
  let url: string | null = null;
  let runner: Runner | undefined;
  let workerRunning = false;

  if (o.worker) {
    runner = await startWorker({ sql, databaseUrl: o.databaseUrl, config: o.config, log });
    workerRunning = true;
    // The runner's promise settles when it stops, asked to or not.
    runner.promise.finally(() => (workerRunning = false)).catch(() => {});
    stops.push(() => runner!.stop());
  }
  const ops: OpsEndpoints = {
    checks: controlPlaneChecks(sql, o.worker ? () => workerRunning : null),
    metrics: controlPlaneRegistry({ sql, serviceDownSeconds: o.config.serviceDownSeconds, api: o.api, worker: o.worker }),
  };
  let opsUrl: string | null = null;
  if (o.config.metricsPort !== undefined) {
    const listener = await startOpsListener(ops, o.config.metricsPort, o.config.metricsListen);
    opsUrl = listener.url;
    stops.unshift(() => listener.close());
  }
  if (o.api) {
    const policy = Policy.load(o.config.policyFile);
    const changes = new ChangeFeed(log);
    await changes.start(sql);
    stops.push(() => changes.stop());
    const app = express();
    app.disable('x-powered-by');
    const http: Server = createServer(app);
    app.get('/healthz', (_req, res) => {
      res.json({ ok: true });
    });
    // Probes stay on the API's port, where Kubernetes finds the process; /metrics moves to the
    // ops listener when there is one, so it need not be served where the API is public.
    const publicOps: OpsEndpoints = { ...ops, metrics: opsUrl ? null : ops.metrics };
    app.use((req, res, next) => {
      if (!serveOps(publicOps, req, res)) next();
    });
    const consoles = new ConsoleProxy({ sql, log, config: o.config, policy, changes });
    const base = { sql, log, config: o.config, policy, changes, consoles };
    mountImageFiles(app, base);
    mountOpenstack(app, base);
    const gql = await mountGraphql(app, http, schema, base);
    // WebSockets by path on the one port: GraphQL (subscriptions, agents' sockets) and consoles.
    http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://api').pathname;
      if (path === '/graphql') gql.upgrade(req, socket, head);
      else if (consoles.handles(path)) consoles.upgrade(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(o.config.port, o.config.host, () => resolve());
    });
    const addr = http.address() as AddressInfo;
    url = `http://${o.config.host}:${addr.port}`;
    consoles.listening(url);
    stops.unshift(async () => {
      consoles.stop();
      await gql.stop();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    });
  }
  return {
    url,
    opsUrl,
    sql,
    async stop() {
      for (const s of stops) await s();
      await sql.end({ timeout: 5 });
    },
  };
}
