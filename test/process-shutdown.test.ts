import { access, chmod, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrreryClient } from '../client/graphql.ts';
import { freePort } from '../db/embedded.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { startOrrery } from './support/orrery-process.ts';

let db: TestDatabase;
const dataDir = path.join(os.tmpdir(), `orrery-shutdown-test-${process.pid}-${Date.now()}`);
const token = `orr_u_shutdown-test-${process.pid}`;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('orrery api and worker processes', () => {
  it('stop cleanly on SIGTERM with clients connected (no kill needed)', async () => {
    const port = await freePort();
    const env = { DATABASE_URL: db.url, ORRERY_ADMIN_TOKEN: token, ORRERY_PORT: String(port) };
    const api = startOrrery(['api'], { ...env, ORRERY_DATA_DIR: path.join(dataDir, 'api') });
    const worker = startOrrery(['worker'], { ...env, ORRERY_DATA_DIR: path.join(dataDir, 'worker') });
    await Promise.all([api.waitForLog('Orrery API listening'), worker.waitForLog('Orrery worker running')]);

    // One client over HTTP (keep-alive) and one over the socket, both still connected at the stop.
    const client = new OrreryClient(`http://127.0.0.1:${port}`, token);
    expect((await client.request(`{ whoami { kind userName } }`)).whoami).toEqual({ kind: 'user', userName: 'admin' });
    expect((await client.requestOverSocket(`{ whoami { kind } }`)).whoami.kind).toBe('user');

    // A hung stop would end in SIGKILL after 10 s: the exit code is the whole check.
    expect(await api.stop()).toEqual({ code: 0, signal: null });
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    await client.close();
  });

  it('orrery server with its embedded PostgreSQL stops on Ctrl-C: API and worker first, then the database, exit 0', async () => {
    const dir = path.join(dataDir, 'server');
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755); // the embedded server runs as the postgres user when we are root
    const server = startOrrery(['server'], {
      DATABASE_URL: '', ORRERY_DATA_DIR: dir, ORRERY_PORT: String(await freePort()), ORRERY_EMBEDDED_PG_PORT: String(await freePort()),
    });
    await server.waitForLog('Orrery API listening', 120_000);
    const pidFile = path.join(dir, 'postgres', 'postmaster.pid');
    await access(pidFile);

    const ended = await server.stop('SIGINT');
    expect(ended, server.tail()).toEqual({ code: 0, signal: null });
    expect(server.tail()).not.toMatch(/"level":50/);
    await expect(access(pidFile)).rejects.toThrow(); // PostgreSQL shut down, not left behind
  });

  it('orrery server stopped by Ctrl-C while it is still starting: it starts nothing more and stops cleanly, database included', async () => {
    const dir = path.join(dataDir, 'server-starting');
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const server = startOrrery(['server'], {
      DATABASE_URL: '', ORRERY_DATA_DIR: dir, ORRERY_PORT: String(await freePort()), ORRERY_EMBEDDED_PG_PORT: String(await freePort()),
    });
    // The database is up; the schema, the worker and the API are not yet.
    await server.waitForLog('started embedded PostgreSQL', 120_000);
    const ended = await server.stop('SIGINT');
    expect(ended, server.tail()).toEqual({ code: 0, signal: null });
    expect(server.tail()).toMatch(/"msg":"shutting down"/);
    await expect(access(path.join(dir, 'postgres', 'postmaster.pid'))).rejects.toThrow();
  });
});
