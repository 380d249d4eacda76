import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql } from './connect.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const LOCK_KEY = 7_201_446_001; // advisory lock shared by every process that migrates

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{6}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const sql = await readFile(dir + name, 'utf8');
      return {
        id: Number(name.slice(0, 6)),
        name,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

export class MigrationError extends Error {}

/**
 * Applies pending migrations, one transaction each, under an advisory lock so replicas starting
 * together do not race. Refuses to run when the database is newer than this code or when an
 * applied file was edited.
 */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create table if not exists orrery_migrations (
      id integer primary key, name text not null, checksum text not null,
      applied_at timestamptz not null default now())`;
    const done = await tx<{ id: number; name: string; checksum: string }[]>`
      select id, name, checksum from orrery_migrations order by id`;
    const known = new Map(all.map((m) => [m.id, m]));
    for (const row of done) {
      const m = known.get(row.id);
      if (!m) {
        throw new MigrationError(
          `database has migration ${row.name} that this version of Orrery does not know; refusing to run older code against a newer schema`,
        );
      }
      if (m.checksum !== row.checksum) {
        throw new MigrationError(`migration ${m.name} was edited after it was applied (checksum mismatch)`);
      }
    }
    const doneIds = new Set(done.map((r) => r.id));
    for (const m of all) {
      if (doneIds.has(m.id)) continue;
      await tx.savepoint(async (sp) => {
        await sp.unsafe(m.sql);
        await sp`insert into orrery_migrations (id, name, checksum) values (${m.id}, ${m.name}, ${m.checksum})`;
      });
      applied.push(m.id);
    }
  });
  return applied;
}
