import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Config } from '../core/config.ts';
import type { Log } from '../core/log.ts';
import { serveOps, type OpsEndpoints } from '../core/ops-http.ts';
import type { Sql } from '../db/connect.ts';
import { Policy } from '../policies/policy.ts';
import { schema } from '../schema/index.ts';
import { ChangeFeed } from './change-feed.ts';
import { ConsoleProxy } from './console-proxy.ts';
import { mountDashboard } from './dashboard.ts';
import { mountGraphql } from './graphql-http.ts';
import { mountImageFiles } from './image-files.ts';
import { MutationBudget } from './mutation-budget.ts';
import { mountOpenstack } from '../openstack/mount.ts';

/**
 * The API part of a control plane process: GraphQL over HTTP and WebSockets, consoles, image
 * files, the OpenStack facade, the dashboard and the probes on one port. Its own module, loaded
 * only where the API runs: an `orrery worker` never loads the schema, Apollo or Express (about
 * 1.6 s of CPU and 70 MiB at start-up, per worker process).
 */
export async function startApi(o: {
  sql: Sql;
  config: Config;
  log: Log;
  /** Probes (and metrics, unless they have a listener of their own) served on the API's port. */
  ops: OpsEndpoints;
}): Promise<{ url: string; close(): Promise<void>; stopChanges(): Promise<void> }> {
  const { sql, config, log } = o;
  const policy = Policy.load(config.policyFile);
  const changes = new ChangeFeed(log);
  await changes.start(sql);
  const app = express();
  app.disable('x-powered-by');
  const http: Server = createServer(app);
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use((req, res, next) => {
    if (!serveOps(o.ops, req, res)) next();
  });
  const consoles = new ConsoleProxy({ sql, log, config, policy, changes });
  const base = { sql, log, config, policy, changes, consoles };
  // One budget of writes per user, whichever API they come by.
  const mutations = new MutationBudget(config.mutationsPerSecond, config.mutationBurst);
  mountImageFiles(app, base);
  mountOpenstack(app, { ...base, mutations });
  const gql = await mountGraphql(app, http, schema, base, mutations);
  mountDashboard(app, log);
  // WebSockets by path on the one port: GraphQL (subscriptions, agents' sockets) and consoles.
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://api').pathname;
    if (path === '/graphql') gql.upgrade(req, socket, head);
    else if (consoles.handles(path)) consoles.upgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const url = `http://${config.host}:${addr.port}`;
  consoles.listening(url);
  return {
    url,
    async close() {
      consoles.stop();
      await gql.stop();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
    stopChanges: () => changes.stop(),
  };
}
