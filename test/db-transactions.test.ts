import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../db/connect.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase();
  // Two connections: every query beyond them is pipelined onto a busy one, as under load.
  sql = connect(db.url, { max: 2 });
  await sql`create table tx_probe (id int primary key, v int not null)`;
});
afterAll(async () => {
  await sql.end();
  await db.drop();
});

const setting = (q: Sql) => q<{ s: string | null }[]>`select current_setting('orrery.probe', true) as s`;

describe('sql.begin', () => {
  it('keeps other queries out of a transaction however full the pipeline is', async () => {
    await sql`insert into tx_probe values (1, 0)`;
    const outside: (string | null)[] = [];
    let begins = 0;
    // postgres.js 3.4 lost the connection's reservation when BEGIN was the query that filled a
    // connection's pipeline (100): the queries after it joined the transaction and the caller got
    // UNSAFE_TRANSACTION (porsager/postgres#823). Sweeping the queries ahead of BEGIN hits that slot.
    for (let ahead = 190; ahead < 210; ahead++) {
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < ahead; i++) work.push(setting(sql).then(([r]) => outside.push(r.s)));
      begins++;
      work.push(sql.begin(async (tx) => {
        await tx`select set_config('orrery.probe', 'inside', true)`;
        await tx`update tx_probe set v = v + 1 where id = 1`;
      }));
      for (let i = 0; i < 20; i++) work.push(setting(sql).then(([r]) => outside.push(r.s)));
      await Promise.all(work);
    }
    expect(outside.filter((s) => s === 'inside')).toEqual([]);
    expect(outside).toHaveLength((190 + 209) * 10 + 20 * 20);
    const [{ v }] = await sql<{ v: number }[]>`select v from tx_probe where id = 1`;
    expect(v).toBe(begins);
  });

  it('rolls back what a failed body wrote and gives its connection back', async () => {
    for (let i = 0; i < 5; i++) {
      await expect(sql.begin(async (tx) => {
        await tx`insert into tx_probe values (${100 + i}, 0)`;
        throw new Error(`body ${i} failed`);
      })).rejects.toThrow(`body ${i} failed`);
    }
    const rows = await sql`select id from tx_probe where id >= 100`;
    expect(rows).toHaveLength(0);
    const idle = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state like 'idle in transaction%'`;
    expect(idle[0].n).toBe(0);
  });

  it('undoes a failed savepoint and keeps the rest of the transaction', async () => {
    await sql.begin(async (tx) => {
      await tx`insert into tx_probe values (200, 0)`;
      await expect(tx.savepoint(async (sp) => {
        await sp`insert into tx_probe values (201, 0)`;
        await sp.savepoint((inner) => inner`insert into tx_probe values (202, 0)`);
        await sp`insert into tx_probe values (200, 0)`; // duplicate key: this savepoint fails
      })).rejects.toThrow(/duplicate key/);
      await tx.savepoint((sp) => sp`insert into tx_probe values (203, 0)`);
    });
    const rows = await sql<{ id: number }[]>`select id from tx_probe where id between 200 and 299 order by id`;
    expect(rows.map((r) => r.id)).toEqual([200, 203]);
  });

  it('fails a transaction whose connection dies, and the pool goes on', async () => {
    const killed = sql.begin(async (tx) => {
      await tx`insert into tx_probe values (300, 0)`;
      await tx`select pg_terminate_backend(pg_backend_pid())`;
      await tx`insert into tx_probe values (301, 0)`;
    });
    await expect(killed).rejects.toThrow();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => sql<{ i: number }[]>`select ${i}::int as i`));
    expect(answers.map(([r]) => r.i)).toEqual([0, 1, 2, 3, 4, 5]);
    const rows = await sql`select id from tx_probe where id >= 300`;
    expect(rows).toHaveLength(0);
  });
});
