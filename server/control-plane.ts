import type { Runner } from 'graphile-worker';
import { connect, type Sql } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import type { Config } from '../core/config.ts';
import { rootLog, type Log } from '../core/log.ts';
import { startOpsListener, type OpsEndpoints } from '../core/ops-http.ts';
import { startWorker } from '../reconciler/worker.ts';
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
    // Probes stay on the API's port, where Kubernetes finds the process; /metrics moves to the
    // ops listener when there is one, so it need not be served where the API is public.
    const { startApi } = await import('./api-server.ts');
    const api = await startApi({ sql, config: o.config, log, ops: { ...ops, metrics: opsUrl ? null : ops.metrics } });
    url = api.url;
    // Its port closes first, its change feed last (after the worker).
    stops.unshift(() => api.close());
    stops.push(() => api.stopChanges());
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
