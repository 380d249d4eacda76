import type { Sql } from '../../db/connect.ts';

/**
 * Every row of every table (ours and the job queue's), as one hash per table: any write changes it.
 * One query of one scalar subquery per table (a union of them is planned in parallel, and waits on
 * worker processes starting each time): fast enough to take after every call of a fuzz.
 */
export async function world(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select schemaname || '.' || tablename as name from pg_tables
     where schemaname in ('public', 'graphile_worker') order by 1`;
  const columns = tables.map(({ name }) =>
    sql`(select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from ${sql(name)} t) as ${sql(name.replace('.', ':'))}`);
  const [row] = await sql`select ${columns.reduce((all, one) => sql`${all}, ${one}`)}`;
  return Object.fromEntries(Object.entries(row!).map(([k, h]) => [k.replace(':', '.'), String(h)]));
}

/** The tables whose rows differ between two worlds. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}
