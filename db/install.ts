import { runMigrations } from 'graphile-worker';
import { workerLogger } from '../core/log.ts';
import { connect } from './connect.ts';
import { migrate } from './migrate.ts';

/** Brings a database to this version's schema: Orrery's migrations, then graphile-worker's own. */
export async function installSchema(url: string): Promise<void> {
  const sql = connect(url, { max: 1, applicationName: 'orrery-migrate' });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }
  await runMigrations({ connectionString: url, logger: workerLogger() });
}
