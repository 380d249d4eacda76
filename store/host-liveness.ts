import type { Sql, TxSql } from '../db/connect.ts';

export interface HostLiveness {
  name: string;
  /** Not forced down, and its heartbeat lease is fresh. */
  up: boolean;
}

/** Whether one host is up now; `lock` holds its row (an evacuation must not race its return). */
export async function hostLiveness(sql: Sql | TxSql, hostId: string, downSeconds: number, lock = false): Promise<HostLiveness> {
  const [h] = await sql<HostLiveness[]>`
    select name, not forced_down and coalesce(last_heartbeat_at > now() - make_interval(secs => ${downSeconds}), false) as up
      from hosts where id = ${hostId} ${lock ? sql`for update` : sql``}`;
  return h!;
}
