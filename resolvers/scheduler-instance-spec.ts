import { NotFoundError, ValidationError } from '../core/errors.ts';
import type { TxSql } from '../db/connect.ts';
import { queryProblem } from '../reconciler/placement/json-query.ts';
import type { SchedulerHints } from '../reconciler/placement/request.ts';
import type { Context } from '../schema/context.ts';
import type { InstanceSpec } from '../schema/documents/instance.ts';
import { findKeyPair } from '../store/key-pairs.ts';
import { enforceInstanceQuota } from '../store/quotas.ts';
import { findServerGroup, type ServerGroupRow } from '../store/server-groups.ts';
import type { UserPrincipal } from './scope.ts';

/** What createInstance resolves for the scheduler before it writes: group, hints, key. */
export interface SchedulingSpec {
  group: ServerGroupRow | null;
  hints: SchedulerHints;
  keyName: string | null;
  keyData: string | null;
}

function parsedQuery(q: unknown): unknown {
  if (typeof q !== 'string') return q;
  try {
    return JSON.parse(q);
  } catch {
    throw ValidationError.field('input.schedulerHints.query', 'is not valid JSON');
  }
}

/** Resolves and checks serverGroup, schedulerHints and keyName (the caller's own); writes nothing. */
export async function resolveSchedulingSpec(ctx: Context, spec: InstanceSpec, user: UserPrincipal): Promise<SchedulingSpec> {
  const group = spec.serverGroup ? await findServerGroup(ctx.sql, spec.serverGroup, user.projectId) : undefined;
  if (spec.serverGroup && !group) throw new NotFoundError('server group', spec.serverGroup, 'input.serverGroup');
  const key = spec.keyName ? await findKeyPair(ctx.sql, user.userId, spec.keyName) : undefined;
  if (spec.keyName && !key) throw new NotFoundError('key pair', spec.keyName, 'input.keyName');
  const h = spec.schedulerHints ?? {};
  const hints: SchedulerHints = {};
  if (h.sameHost) hints.sameHost = [...h.sameHost];
  if (h.differentHost) hints.differentHost = [...h.differentHost];
  if (h.query !== undefined) {
    const query = parsedQuery(h.query);
    const problem = queryProblem(query);
    if (problem) throw ValidationError.field('input.schedulerHints.query', problem);
    hints.query = query;
  }
  return { group: group ?? null, hints, keyName: key?.name ?? null, keyData: key?.public_key ?? null };
}

/** Inside the create transaction, before the insert: quotas, with the project row locked until commit. */
export async function enforceCreateQuota(
  tx: TxSql,
  s: SchedulingSpec,
  n: { projectId: string; vcpus: number; ramMb: number; metadataItems: number },
): Promise<void> {
  await enforceInstanceQuota(tx, { ...n, groupId: s.group?.id ?? null });
}

/** After the insert, in the same transaction: the membership of the chosen server group. */
export async function joinServerGroup(tx: TxSql, s: SchedulingSpec, instanceId: string): Promise<void> {
  if (s.group) await tx`insert into server_group_members (group_id, instance_id) values (${s.group.id}, ${instanceId})`;
}
