import { AddressExhaustedError, ValidationError } from '../core/errors.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { allocateAddress, claimAddress, randomMac } from './ipam.ts';
import { subnetsOf, type SubnetRow } from './networks.ts';

type Q = Sql | TxSql;

export interface PortView {
  id: string;
  network_id: string;
  network_name: string;
  project_id: string;
  name: string;
  mac: string;
  instance_id: string | null;
  /** Its place among the instance's NICs (0: eth0); null when unattached. */
  device_index: number | null;
  device_owner: 'compute' | 'network:service';
  port_security: boolean;
  created_by_instance: boolean;
  status: string;
  created_at: Date;
  fixed_ips: { subnetId: string; ip: string }[];
  security_group_ids: string[];
}

export interface PortFilter {
  id?: string | null;
  /** null: every project's. */
  projectId: string | null;
  networkId?: string | null;
  instanceId?: string | null;
}

export async function loadPorts(sql: Q, f: PortFilter): Promise<PortView[]> {
  return sql<PortView[]>`
    select p.id, p.network_id, n.name as network_name, p.project_id, p.name, p.mac::text, p.instance_id, p.device_index, p.device_owner,
           p.port_security, p.created_by_instance, p.status, p.created_at,
           coalesce((select json_agg(json_build_object('subnetId', pi.subnet_id, 'ip', host(pi.ip)) order by pi.ip)
                       from port_ips pi where pi.port_id = p.id), '[]') as fixed_ips,
           array(select group_id::text from port_security_groups where port_id = p.id order by group_id) as security_group_ids
      from ports p join networks n on n.id = p.network_id
     where (${f.projectId}::uuid is null or p.project_id = ${f.projectId}::uuid)
       and (${f.id ?? null}::uuid is null or p.id = ${f.id ?? null}::uuid)
       and (${f.networkId ?? null}::uuid is null or p.network_id = ${f.networkId ?? null}::uuid)
       and (${f.instanceId ?? null}::uuid is null or p.instance_id = ${f.instanceId ?? null}::uuid)
     order by case when ${f.instanceId ?? null}::uuid is not null then p.device_index end, p.created_at, p.id`;
}

/** A requested address, checked to lie in `subnet`; `field` names it in errors. */
export interface FixedIpRequest {
  subnet: SubnetRow;
  ip: string;
  field: string;
}

export interface NewPort {
  networkId: string;
  projectId: string;
  name: string;
  instanceId: string | null;
  portSecurity: boolean;
  createdByInstance: boolean;
  groupIds: string[];
  /** null: one address from each IP version's first subnet with one free. */
  fixedIps: FixedIpRequest[] | null;
  /** The input field the port stands for, named by an exhaustion error. */
  field: string;
}

/** Inserts a row with a fresh MAC; a MAC already on the network (one in 16 million) just draws again. */
async function insertPortRow(tx: TxSql, row: Record<string, unknown>): Promise<string> {
  for (;;) {
    const [made] = await tx<{ id: string }[]>`
      insert into ports ${tx({ ...row, mac: randomMac() } as never)}
      on conflict (network_id, mac) do nothing returning id`;
    if (made) return made.id;
  }
}

/** A compute port with its addresses and security groups, in the caller's transaction; DOWN until a host reports its NIC. */
export async function createPort(tx: TxSql, p: NewPort): Promise<string> {
  const id = await insertPortRow(tx, {
    network_id: p.networkId, project_id: p.projectId, name: p.name, instance_id: p.instanceId,
    device_owner: 'compute', port_security: p.portSecurity, created_by_instance: p.createdByInstance,
  });
  if (p.fixedIps) {
    for (const f of p.fixedIps) {
      if (!(await claimAddress(tx, f.subnet.id, id, f.ip))) throw ValidationError.field(f.field, `address ${f.ip} is in use`);
    }
  } else {
    await allocateEachVersion(tx, await subnetsOf(tx, p.networkId), id, p.field);
  }
  if (p.groupIds.length > 0) {
    await tx`insert into port_security_groups (port_id, group_id) select ${id}, unnest(${p.groupIds}::uuid[])`;
  }
  return id;
}

/** Neutron's default: one address per IP version, from the first subnet of that version with room. */
async function allocateEachVersion(tx: TxSql, subnets: SubnetRow[], portId: string, field: string): Promise<void> {
  for (const version of [4, 6]) {
    const candidates = subnets.filter((s) => s.ip_version === version);
    for (const [i, s] of candidates.entries()) {
      try {
        await tx.savepoint((sp) => allocateAddress(sp as TxSql, s, portId, field));
        break;
      } catch (e) {
        if (!(e instanceof AddressExhaustedError) || i === candidates.length - 1) throw e;
      }
    }
  }
}

/** The network's service port (DHCP server and gateway MAC), made with the network. */
export async function ensureServicePort(tx: TxSql, network: { id: string; project_id: string }): Promise<string> {
  const [found] = await tx<{ id: string }[]>`
    select id from ports where network_id = ${network.id} and device_owner = 'network:service'`;
  if (found) return found.id;
  return insertPortRow(tx, {
    network_id: network.id, project_id: network.project_id, name: 'service', device_owner: 'network:service',
    port_security: false, status: 'ACTIVE',
  });
}
