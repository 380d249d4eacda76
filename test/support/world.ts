import type { Sql } from '../../db/connect.ts';

/**
 * Every row of every table (ours and the job queue's), as one hash per table: any write changes it.
 * One round trip: the tests that take it after every call stay fast.
 */
export async function world(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select schemaname || '.' || tablename as name from pg_tables
     where schemaname in ('public', 'graphile_worker') order by 1`;
  const parts = tables.map(({ name }) =>
    sql`select ${name}::text as name, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from ${sql(name)} t`);
  const rows = await parts.reduce((all, one) => sql`${all} union all ${one}`);
  return Object.fromEntries((rows as unknown as { name: string; h: string }[]).map((r) => [r.name, r.h]));
}

/** The tables whose rows differ between two worlds. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}
