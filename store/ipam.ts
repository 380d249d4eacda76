import { randomBytes } from 'node:crypto';
import { AddressExhaustedError } from '../core/errors.ts';
import { PORT_MAC_PREFIX } from '../core/host-network.ts';
import type { TxSql } from '../db/connect.ts';
import type { SubnetRow } from './networks.ts';

/** How often one allocation retries after losing an address to a concurrent one before giving up. */
const MAX_ATTEMPTS = 1000;

/** The lowest address of the subnet's pools that no port and no floating IP holds (null: none left). */
async function lowestFree(tx: TxSql, subnetId: string): Promise<string | null> {
  // Candidates are each pool's first address and the successor of each held one: the lowest free
  // address is always one of them, so this never walks a pool address by address.
  const [row] = await tx<{ ip: string | null }[]>`
    with pools as (select first, last from subnet_allocation_pools where subnet_id = ${subnetId}),
         held as (select ip from port_ips where subnet_id = ${subnetId}
                  union all select address from floating_ips where subnet_id = ${subnetId})
    select host(min(c)) as ip from (
      select first as c from pools
      union all select ip + 1 from held where ip < (select max(last) from pools)
    ) cand
     where exists (select 1 from pools where cand.c between pools.first and pools.last)
       and not exists (select 1 from held where held.ip = cand.c)`;
  return row?.ip ?? null;
}

/**
 * Gives the port the lowest free address of the subnet. Two transactions that pick the same
 * address cannot both insert it (primary key): the later one waits for the earlier, finds the
 * address taken (nothing inserted) and tries the next one.
 */
export async function allocateAddress(tx: TxSql, subnet: SubnetRow, portId: string, field: string): Promise<string> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ip = await lowestFree(tx, subnet.id);
    if (ip === null) throw new AddressExhaustedError(subnet.id, subnet.cidr, field);
    if (await claimAddress(tx, subnet.id, portId, ip)) return ip;
  }
  throw new AddressExhaustedError(subnet.id, subnet.cidr, field);
}

/** Gives the port this address; false when another port holds it. */
export async function claimAddress(tx: TxSql, subnetId: string, portId: string, ip: string): Promise<boolean> {
  const rows = await tx`
    insert into port_ips (port_id, subnet_id, ip) values (${portId}, ${subnetId}, ${ip}::inet)
    on conflict (subnet_id, ip) do nothing returning ip`;
  return rows.length === 1;
}

/** A new floating IP at the lowest free address (the same search; its own unique constraint holds it); returns its id. */
export async function insertFloatingIp(tx: TxSql, subnet: SubnetRow, row: { projectId: string; networkId: string }, field: string): Promise<string> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ip = await lowestFree(tx, subnet.id);
    if (ip === null) throw new AddressExhaustedError(subnet.id, subnet.cidr, field);
    const [inserted] = await tx<{ id: string }[]>`
      insert into floating_ips (project_id, network_id, subnet_id, address)
      values (${row.projectId}, ${row.networkId}, ${subnet.id}, ${ip}::inet)
      on conflict (network_id, address) do nothing returning id`;
    if (inserted) return inserted.id;
  }
  throw new AddressExhaustedError(subnet.id, subnet.cidr, field);
}

/** A MAC in OpenStack's fa:16:3e prefix (locally administered), as Neutron makes them. */
export function randomMac(): string {
  return [PORT_MAC_PREFIX, ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
