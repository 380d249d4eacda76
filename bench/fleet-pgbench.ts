import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dropDatabase, freshDatabase } from './fleet-db.ts';

const run = promisify(execFile);
const PGBENCH = process.env.PGBENCH ?? '/usr/lib/postgresql/15/bin/pgbench';

/** pgbench simple-update (-N) TPS on the bench server: scale 10, 8 clients, 20 s, its own database. */
export async function pgbenchSimpleUpdate(baseUrl: string, seconds = 20): Promise<number> {
  const name = 'fleet_pgbench';
  const u = new URL(await freshDatabase(baseUrl, name));
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  const conn = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username)];
  try {
    await run(PGBENCH, ['-i', '-s', '10', '-q', ...conn, name], { env });
    const { stdout } = await run(PGBENCH, ['-N', '-c', '8', '-j', '2', '-T', String(seconds), ...conn, name], { env });
    const m = /tps = ([\d.]+)/.exec(stdout);
    if (!m) throw new Error(`no tps in pgbench output:\n${stdout}`);
    return Number(m[1]);
  } finally {
    await dropDatabase(baseUrl, name);
  }
}
