import type { Check } from '../core/ops-http.ts';
import type { Sql } from '../db/connect.ts';
import { loadMigrations } from '../db/migrate.ts';

let known: Promise<number[]> | undefined;

/** The migration ids this code ships: read from disk once, as they cannot change under a running process. */
function knownMigrations(): Promise<number[]> {
  known ??= loadMigrations().then((ms) => ms.map((m) => m.id));
  return known;
}

/**
 * What a control plane process needs to do its work: its database answers, the schema there is
 * the one this code was written for (another replica may have migrated it further), and, where
 * it runs one, its job worker is still running.
 */
export function controlPlaneChecks(sql: Sql, workerRunning: (() => boolean) | null): Record<string, Check> {
  const checks: Record<string, Check> = {
    database: async () => {
      await sql`select 1`;
      return null;
    },
    migrations: async () => {
      const rows = await sql<{ id: number }[]>`select id from orrery_migrations`;
      const applied = new Set(rows.map((r) => r.id));
      const mine = await knownMigrations();
      const unknown = [...applied].filter((id) => !mine.includes(id));
      if (unknown.length) return `the database has migration ${Math.max(...unknown)}, newer than this code`;
      const missing = mine.filter((id) => !applied.has(id));
      if (missing.length) return `${missing.length} migration(s) of this code not applied, the first ${missing[0]}`;
      return null;
    },
  };
  if (workerRunning) checks.worker = async () => (workerRunning() ? null : 'the job worker has stopped');
  return checks;
}
