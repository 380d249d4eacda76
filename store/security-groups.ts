import type { Sql, TxSql } from '../db/connect.ts';
import { isUuid } from './instances.ts';

type Q = Sql | TxSql;

export interface SecurityGroupRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  created_at: Date;
}

export interface SecurityGroupRuleRow {
  id: string;
  group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_min: number | null;
  port_max: number | null;
  remote_cidr: string | null;
  remote_group_id: string | null;
  created_at: Date;
}

export const DEFAULT_GROUP = 'default';

/**
 * The project's `default` group, made on first use with Neutron's rules: all egress, and ingress
 * from members of the group itself. A concurrent first use waits on the name and finds it.
 */
export async function ensureDefaultGroup(tx: TxSql, projectId: string): Promise<string> {
  const [made] = await tx<{ id: string }[]>`
    insert into security_groups (project_id, name, description)
    values (${projectId}, ${DEFAULT_GROUP}, 'Default security group')
    on conflict (project_id, name) do nothing returning id`;
  if (made) {
    await tx`
      insert into security_group_rules (group_id, direction, ethertype, remote_group_id)
      values (${made.id}, 'egress', 'IPv4', null), (${made.id}, 'egress', 'IPv6', null),
             (${made.id}, 'ingress', 'IPv4', ${made.id}), (${made.id}, 'ingress', 'IPv6', ${made.id})`;
    return made.id;
  }
  const [found] = await tx<{ id: string }[]>`select id from security_groups where project_id = ${projectId} and name = ${DEFAULT_GROUP}`;
  return found!.id;
}

/** A group of the project (any project with null), by ID or name. */
export async function findSecurityGroup(sql: Q, ref: string, projectId: string | null): Promise<SecurityGroupRow | undefined> {
  const [row] = await sql<SecurityGroupRow[]>`
    select * from security_groups
     where (name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid))
       and (${projectId}::uuid is null or project_id = ${projectId}::uuid)
     order by created_at limit 1`;
  return row;
}

export async function rulesOf(sql: Q, groupId: string): Promise<SecurityGroupRuleRow[]> {
  return sql<SecurityGroupRuleRow[]>`
    select id, group_id, direction, ethertype, protocol, port_min, port_max, remote_cidr::text, remote_group_id, created_at
      from security_group_rules where group_id = ${groupId} order by created_at, id`;
}
