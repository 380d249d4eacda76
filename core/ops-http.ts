import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** One readiness check: resolves to null when it passes, or to why it does not. */
export type Check = () => Promise<string | null>;

export interface OpsEndpoints {
  /** Named checks /readyz runs; every one must pass. */
  checks: Record<string, Check>;
  /** Served at /metrics; null where this listener must not expose them. */
  metrics: Registry | null;
}

/** A check that hangs (a database behind a dead network) must not hang the probe: Kubernetes' default probe timeout is 1 s. */
const CHECK_TIMEOUT_MS = 900;

/**
 * Answers the operations endpoints Kubernetes and Prometheus expect: `/livez` (the process answers),
 * `/readyz` (every check passes; 503 naming the failing ones otherwise) and `/metrics`. Returns
 * false for any other path, so the caller can route it on.
 */
export function serveOps(o: OpsEndpoints, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = new URL(req.url ?? '/', 'http://ops').pathname;
  if (path === '/livez') {
    json(res, 200, { status: 'live' });
    return true;
  }
  if (path === '/readyz') {
    void readiness(o.checks).then((r) => json(res, r.failing.length ? 503 : 200, r));
    return true;
  }
  if (path === '/metrics' && o.metrics) {
    const registry = o.metrics;
    void registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics collection failed: ${(e as Error).message}\n`);
      },
    );
    return true;
  }
  return false;
}

export interface Readiness {
  status: 'ready' | 'not ready';
  /** The names of the checks that did not pass. */
  failing: string[];
  /** Each check's answer: "ok", or why not. */
  checks: Record<string, string>;
}

async function readiness(checks: Record<string, Check>): Promise<Readiness> {
  const answers = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await bounded(check)] as const));
  const failing = answers.filter(([, why]) => why !== null).map(([name]) => name);
  return {
    status: failing.length ? 'not ready' : 'ready',
    failing,
    checks: Object.fromEntries(answers.map(([name, why]) => [name, why ?? 'ok'])),
  };
}

async function bounded(check: Check): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((r) => (timer = setTimeout(() => r(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)));
  try {
    return await Promise.race([check().catch((e: unknown) => (e as Error).message || String(e)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export interface OpsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * The operations endpoints on their own port: for processes that serve nothing else (a worker, a
 * host agent), or to keep /metrics off the API's public address.
 */
export async function startOpsListener(o: OpsEndpoints, port: number, host: string): Promise<OpsListener> {
  const server = createServer((req, res) => {
    if (serveOps(o, req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: this port serves /livez, /readyz and /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
