import type { Sql } from '../db/connect.ts';

export interface Lease {
  epoch: number;
  enabled: boolean;
}

/**
 * Renews the heartbeat lease of many hosts in one statement; the answer for a host that no longer
 * exists is null. Rows are locked in id order so two API replicas flushing at once cannot deadlock.
 */
export async function renewLeases(sql: Sql, hostIds: string[]): Promise<(Lease | null)[]> {
  const unique = [...new Set(hostIds)].sort();
  const rows = await sql.begin(async (tx) => {
    await tx`select id from hosts where id = any(${unique}::uuid[]) order by id for update`;
    return tx<({ id: string } & Lease)[]>`
      update hosts h set last_heartbeat_at = now(), down_since = null
       where h.id = any(${unique}::uuid[])
      returning h.id, h.epoch, h.enabled`;
  });
  const byId = new Map(rows.map((r) => [r.id, { epoch: r.epoch, enabled: r.enabled }]));
  return hostIds.map((id) => byId.get(id) ?? null);
}
