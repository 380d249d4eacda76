import { NotFoundError } from '../core/errors.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import { findNetwork, type NetworkRow } from '../store/networks.ts';
import { DEFAULT_GROUP, ensureDefaultGroup, findSecurityGroup } from '../store/security-groups.ts';
import { requireUser } from './scope.ts';

/** Admins reach every project's networks, ports and groups by ID or name; others only their own (and shared). */
export function networkProject(ctx: Context): string | null {
  const user = requireUser(ctx);
  return ctx.policy.allows(ctx.principal, 'network:list_all_projects') ? null : user.projectId;
}

/** A network the caller may put ports on: its own or a shared one. Any other is not found, as if invisible. */
export async function attachableNetwork(sql: Sql | TxSql, ctx: Context, ref: string, field: string): Promise<NetworkRow> {
  const project = networkProject(ctx);
  const n = await findNetwork(sql, ref, { projectId: project });
  if (!n || (project !== null && n.project_id !== project && !n.shared)) throw new NotFoundError('network', ref, field);
  return n;
}

/** A network the caller owns (admins: any), locked for the rest of the transaction: subnets and deletion change under it. */
export async function ownedNetwork(tx: TxSql, ctx: Context, ref: string, field: string): Promise<NetworkRow> {
  const project = networkProject(ctx);
  const n = await findNetwork(tx, ref, { projectId: project }, true);
  if (!n || (project !== null && n.project_id !== project)) throw new NotFoundError('network', ref, field);
  return n;
}

/** Security groups of the caller's project by name or ID; `default` is made on first use. */
export async function resolveGroups(tx: TxSql, projectId: string, refs: readonly string[], field: string): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, ref] of refs.entries()) {
    if (ref === DEFAULT_GROUP) {
      ids.push(await ensureDefaultGroup(tx, projectId));
      continue;
    }
    const g = await findSecurityGroup(tx, ref, projectId);
    if (!g) throw new NotFoundError('security group', ref, `${field}.${i}`);
    ids.push(g.id);
  }
  return [...new Set(ids)];
}
