import { NotFoundError, ValidationError } from '../core/errors.ts';
import { queryProblem } from '../reconciler/placement/json-query.ts';
import type { SchedulerHints } from '../reconciler/placement/request.ts';
import type { Context } from '../schema/context.ts';
import type { InstanceSpec } from '../schema/documents/instance.ts';
import { findKeyPair, type KeyPairRow } from '../store/key-pairs.ts';
import { findServerGroup, type ServerGroupRow } from '../store/server-groups.ts';
import type { UserPrincipal } from './scope.ts';

/** What createInstance resolves for the scheduler before it writes: group, hints, key. */
export interface SchedulingSpec {
  group: ServerGroupRow | null;
  hints: SchedulerHints;
  keyName: string | null;
  keyData: string | null;
}

function parsedQuery(q: unknown, root: string): unknown {
  if (typeof q !== 'string') return q;
  try {
    return JSON.parse(q);
  } catch {
    throw ValidationError.field(`${root}.schedulerHints.query`, 'is not valid JSON');
  }
}

/** Where the server group and key pair a spec names are found (a bulk create shares one per request). */
export interface SchedulingLookups {
  serverGroup(ref: string): Promise<ServerGroupRow | undefined>;
  keyPair(name: string): Promise<KeyPairRow | undefined>;
}

/** Straight from the database, for the user's project and key pairs. */
export function schedulingLookups(ctx: Context, user: UserPrincipal): SchedulingLookups {
  return {
    serverGroup: (ref) => findServerGroup(ctx.sql, ref, user.projectId),
    keyPair: (name) => findKeyPair(ctx.sql, user.userId, name),
  };
}

/**
 * Resolves and checks serverGroup, schedulerHints and keyName (the caller's own); writes nothing.
 * Errors name the field under `root` (`input`, or `inputs.3` in a bulk create).
 */
export async function resolveSchedulingSpec(
  spec: InstanceSpec,
  lookups: SchedulingLookups,
  root = 'input',
): Promise<SchedulingSpec> {
  const [group, key] = await Promise.all([
    spec.serverGroup ? lookups.serverGroup(spec.serverGroup) : undefined,
    spec.keyName ? lookups.keyPair(spec.keyName) : undefined,
  ]);
  if (spec.serverGroup && !group) throw new NotFoundError('server group', spec.serverGroup, `${root}.serverGroup`);
  if (spec.keyName && !key) throw new NotFoundError('key pair', spec.keyName, `${root}.keyName`);
  const h = spec.schedulerHints ?? {};
  const hints: SchedulerHints = {};
  if (h.sameHost) hints.sameHost = [...h.sameHost];
  if (h.differentHost) hints.differentHost = [...h.differentHost];
  if (h.query !== undefined) {
    const query = parsedQuery(h.query, root);
    const problem = queryProblem(query);
    if (problem) throw ValidationError.field(`${root}.schedulerHints.query`, problem);
    hints.query = query;
  }
  return { group: group ?? null, hints, keyName: key?.name ?? null, keyData: key?.public_key ?? null };
}

