import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connect, type Sql } from '../../db/connect.ts';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** A fresh database for one test file, cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = inject('databaseUrl');
  const name = `orrery_test_${randomBytes(6).toString('hex')}`;
  const admin = connect(base, { max: 1 });
  await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`);
  await admin.end();
  const url = withDatabase(base, name);
  const sql = connect(url, { max: 5 });
  return {
    url,
    sql,
    async drop() {
      await sql.end();
      const a = connect(base, { max: 1 });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
