import type { Sql } from '../db/connect.ts';
import { hashSecret, newSecret } from './tokens.ts';

/** The hosts columns an agent's inventory sets (resolvers/agent.ts's inventoryColumns). */
export interface InventoryColumns {
  hypervisor_type: string;
  hypervisor_version: string;
  architecture: string;
  capabilities: { cpu_model: string; cpu_features: string[] };
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  migration_uri: string | null;
  tunnel_address: string | null;
}

/**
 * Registers a host by name (or takes over the row of one whose agent is down), revokes its old
 * host credentials and issues a new one, in one statement: one round trip instead of a transaction
 * of six, which was most of an enrollment's database cost. The upsert's row lock stands in for the
 * `select … for update` (ON CONFLICT DO UPDATE locks the row and checks its WHERE on the latest
 * version), and the statement's one snapshot keeps the new token out of the old ones' delete.
 * Null when the host's agent is up: whoever holds an enrollment token must not take over its host.
 */
export async function enrollHostRow(
  sql: Sql,
  name: string,
  cols: InventoryColumns,
  serviceDownSeconds: number,
): Promise<{ hostId: string; epoch: number; token: string } | null> {
  const secret = newSecret('host');
  const [row] = await sql<{ id: string; epoch: number }[]>`
    with host as (
      insert into hosts ${sql({ name, ...cols, capabilities: sql.json(cols.capabilities) } as never)}
      on conflict (name) do update set
        hypervisor_type = excluded.hypervisor_type, hypervisor_version = excluded.hypervisor_version,
        architecture = excluded.architecture, capabilities = excluded.capabilities,
        vcpus = excluded.vcpus, memory_mb = excluded.memory_mb, disk_gb = excluded.disk_gb,
        migration_uri = excluded.migration_uri, tunnel_address = excluded.tunnel_address, updated_at = now()
      where not coalesce(hosts.last_heartbeat_at > now() - make_interval(secs => ${serviceDownSeconds}), false)
      returning id, epoch
    ), revoked as (
      delete from tokens where kind = 'host' and host_id = (select id from host)
    ), issued as (
      insert into tokens (secret_hash, kind, host_id, description)
      select ${hashSecret(secret)}, 'host', id, ${`agent of ${name}`} from host
    )
    select id, epoch from host`;
  return row ? { hostId: row.id, epoch: row.epoch, token: secret } : null;
}
