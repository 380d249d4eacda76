import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../db/embedded.ts';
import { checkEmbeddedStart } from '../db/embedded-preflight.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'orrery-preflight-'));
  await chmod(root, 0o755);
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('embedded PostgreSQL start-up problems', () => {
  it('a taken port: says which, and what to set instead', async () => {
    const port = await freePort();
    const taken: Server = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      await expect(checkEmbeddedStart(path.join(root, 'pg-port'), port)).rejects.toThrow(
        `port ${port} on 127.0.0.1 is in use (another Orrery server or PostgreSQL?): set ORRERY_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to a PostgreSQL to use`,
      );
    } finally {
      taken.close();
    }
  });

  it('a data folder from a newer PostgreSQL: names both versions', async () => {
    const dir = path.join(root, 'pg-newer');
    await mkdir(dir);
    await writeFile(path.join(dir, 'PG_VERSION'), '99\n');
    await expect(checkEmbeddedStart(dir, await freePort())).rejects.toThrow(
      `${dir} holds a PostgreSQL 99 database, newer than the embedded PostgreSQL 18: point DATABASE_URL at a PostgreSQL 99 server using it, or set ORRERY_DATA_DIR to another folder`,
    );
  });

  it.runIf(process.getuid?.() === 0)('as root, a closed parent folder: orrery server ends with one line, no stack trace', async () => {
    const closed = path.join(root, 'closed');
    await mkdir(closed, { mode: 0o700 });
    const run = await promisify(execFile)(process.execPath, ['bin/orrery.js', 'server'], {
      env: { ...process.env, VITEST: '', DATABASE_URL: '', ORRERY_DATA_DIR: path.join(closed, 'data'), ORRERY_EMBEDDED_PG_PORT: String(await freePort()) },
    }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `orrery: the embedded PostgreSQL runs as the postgres user, who cannot enter ${closed} (mode 700): run chmod o+x ${closed}, or set ORRERY_DATA_DIR to a folder outside it\n`,
    );
  });
});
