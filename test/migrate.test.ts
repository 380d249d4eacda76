import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, loadMigrations, MigrationError } from '../db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe('migration runner', () => {
  it('has applied every migration file and applies nothing twice', async () => {
    const files = await loadMigrations();
    const rows = await db.sql<{ id: number }[]>`select id from orrery_migrations order by id`;
    expect(rows.map((r) => r.id)).toEqual(files.map((f) => f.id));
    expect(await migrate(db.sql)).toEqual([]);
  });

  it('refuses a database that is newer than the code', async () => {
    await db.sql`insert into orrery_migrations (id, name, checksum) values (999999, '999999_future.sql', 'x')`;
    await expect(migrate(db.sql)).rejects.toThrow(MigrationError);
    await db.sql`delete from orrery_migrations where id = 999999`;
  });

  it('refuses an applied migration whose file was edited', async () => {
    const files = await loadMigrations();
    const edited = files.map((f, i) => (i === 0 ? { ...f, checksum: 'edited' } : f));
    await expect(migrate(db.sql, edited)).rejects.toThrow(/checksum mismatch/);
  });
});
