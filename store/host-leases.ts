import type { Sql } from '../db/connect.ts';

export interface Lease {
  epoch: number;
  enabled: boolean;
}

/**
 * Renews the heartbeat lease of many hosts in one statement; the answer for a host that no longer
 * exists is null. Rows are locked in id order so two API replicas flushing at once cannot deadlock,
 * and with the lock a claim takes anyway (no key update: foreign-key checks of new allocations and
 * instance bindings pass). One statement, not a transaction of two: the row locks end with it,
 * not after a round trip to an API process whose event loop may be busy (claims waited on them).
 */
export async function renewLeases(sql: Sql, hostIds: string[]): Promise<(Lease | null)[]> {
  const unique = [...new Set(hostIds)].sort();
  const rows = await sql<({ id: string } & Lease)[]>`
    update hosts h set last_heartbeat_at = now(), down_since = null
      from (select id from hosts where id = any(${unique}::uuid[]) order by id for no key update) as locked
     where h.id = locked.id
    returning h.id, h.epoch, h.enabled`;
  const byId = new Map(rows.map((r) => [r.id, { epoch: r.epoch, enabled: r.enabled }]));
  return hostIds.map((id) => byId.get(id) ?? null);
}
