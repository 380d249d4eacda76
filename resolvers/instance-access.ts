import { ConflictError, NotFoundError } from '../core/errors.ts';
import { describeState } from '../core/operation-guards.ts';
import type { TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import { isUuid, type InstanceRow } from '../store/instances.ts';
import { callerIsAdmin, requireUser } from './scope.ts';

/**
 * The caller's own instance (admins: any, unless `ownProjectOnly`), locked for the write; not
 * found otherwise (naming `field`) — never "forbidden", so another project's ids do not leak.
 */
export async function lockOwnInstance(
  tx: TxSql,
  ctx: Context,
  id: string,
  o: { field?: string; ownProjectOnly?: boolean } = {},
): Promise<InstanceRow> {
  const user = requireUser(ctx);
  const admin = !o.ownProjectOnly && ctx.policy.allows(ctx.principal, 'instance:list_all_projects');
  const [row] = isUuid(id)
    ? await tx<InstanceRow[]>`select * from instances where id = ${id} and (${admin} or project_id = ${user.projectId}) for update`
    : [];
  if (!row) throw new NotFoundError('instance', id, o.field ?? 'id');
  return row;
}

/** A locked instance refuses changes from anyone but an admin (Nova's server lock). */
export function checkNotLocked(ctx: Context, inst: InstanceRow, what: string): void {
  if (!inst.locked || callerIsAdmin(ctx)) return;
  const why = inst.locked_reason ? ` (${inst.locked_reason})` : '';
  throw new ConflictError(`cannot ${what} instance ${inst.name}: it is locked${why}`, `${describeState(inst)}, locked`);
}
