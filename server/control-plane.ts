import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Runner } from 'graphile-worker';
import { connect, type Sql } from '../db/connect.ts';
import { installSchema } from '../db/install.ts';
import type { Config } from '../core/config.ts';
import { rootLog, type Log } from '../core/log.ts';
import { Policy } from '../policies/policy.ts';
import { startWorker } from '../reconciler/worker.ts';
import { schema } from '../schema/index.ts';
import { ChangeFeed } from './change-feed.ts';
import { ConsoleProxy } from './console-proxy.ts';
import { mountGraphql } from './graphql-http.ts';
import { mountImageFiles } from './image-files.ts';

export interface ControlPlane {
  /** Base URL of the API, e.g. http://127.0.0.1:8774 (when the API runs). */
  url: string | null;
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

  if (o.worker) {
    runner = await startWorker({ sql, databaseUrl: o.databaseUrl, config: o.config, log });
    stops.push(() => runner!.stop());
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
    const consoles = new ConsoleProxy({ sql, log, config: o.config, policy, changes });
    const base = { sql, log, config: o.config, policy, changes, consoles };
    mountImageFiles(app, base);
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
    sql,
    async stop() {
      for (const s of stops) await s();
      await sql.end({ timeout: 5 });
    },
  };
}
