import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { rootLog } from '../core/log.ts';
import { connect } from '../db/connect.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { EmbeddedStartError } from '../db/embedded-preflight.ts';
import { installSchema } from '../db/install.ts';
import { startControlPlane } from '../server/control-plane.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';
import { portNumber } from './port.ts';
import { runUntilSignal, type Stops } from './until-signal.ts';

/** The command line's say over the operations listener; each beats its environment variable. */
export interface OpsOptions {
  metricsPort?: string;
  metricsListen?: string;
}

/** `orrery server|api|worker`: the control plane, whole or in parts, until SIGINT/SIGTERM. */
export async function runServer(parts: { api: boolean; worker: boolean }, ops: OpsOptions = {}): Promise<void> {
  const config = loadConfig({
    ...(ops.metricsPort !== undefined && { metricsPort: portNumber('--metrics-port', ops.metricsPort) }),
    ...(ops.metricsListen !== undefined && { metricsListen: ops.metricsListen }),
  });
  const log = rootLog();
  await runUntilSignal(start, (signal) => log.info({ signal }, 'shutting down'));

  async function start(stops: Stops): Promise<void> {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pgDir = path.join(config.dataDir, 'postgres');
      const db = await startEmbeddedPostgres(pgDir, {
        port: Number(process.env.ORRERY_EMBEDDED_PG_PORT ?? 8775),
        log: (line) => log.debug({ component: 'postgres' }, line),
      }).catch((e: unknown) => {
        if (!(e instanceof EmbeddedStartError)) throw e;
        process.stderr.write(`orrery: ${e.message}\n`);
        process.exit(1);
      });
      databaseUrl = db.url;
      stops.add(db.stop);
      log.info({ dataDir: pgDir, url: db.url.replace(/:[^:@]*@/, ':***@') }, 'DATABASE_URL is unset: started embedded PostgreSQL');
    }
    if (stops.requested) return;
    await installSchema(databaseUrl);
    await announceAdminToken(databaseUrl, config.dataDir);
    if (stops.requested) return;
    const cp = await startControlPlane({ config, databaseUrl, api: parts.api, worker: parts.worker, log });
    stops.add(cp.stop);
    if (cp.url) log.info({ url: `${cp.url}/graphql` }, 'Orrery API listening (GraphQL and subscriptions)');
    if (parts.worker) log.info({ concurrency: config.workerConcurrency }, 'Orrery worker running');
    if (cp.opsUrl) log.info({ url: cp.opsUrl }, 'probes and metrics listening (/livez, /readyz, /metrics)');
  }
}

/** On first start, creates the admin and says where its token is; never prints it to logs twice. */
async function announceAdminToken(databaseUrl: string, dataDir: string): Promise<void> {
  const sql = connect(databaseUrl, { max: 1 });
  try {
    const b = await bootstrapAdmin(sql, process.env.ORRERY_ADMIN_TOKEN || undefined);
    if (!b.adminToken || process.env.ORRERY_ADMIN_TOKEN) return;
    await mkdir(dataDir, { recursive: true });
    const file = path.join(dataDir, 'admin-token');
    await writeFile(file, b.adminToken + '\n', { mode: 0o600 });
    process.stderr.write(
      `\nCreated the admin user (project "admin"). Its API token is in ${file}:\n` +
        `  export ORRERY_TOKEN=$(cat ${file})\n\n`,
    );
  } finally {
    await sql.end();
  }
}
