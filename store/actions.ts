import type { Sql, TxSql } from '../db/connect.ts';

/**
 * Actions the host's report on the instance's NICs settles (store/interface-reports.ts), not the
 * instance's state: the steps and settlements of state changes below leave them alone.
 */
export const INTERFACE_ACTIONS = ['attach-interface', 'detach-interface'] as const;

/**
 * Opens an action-log record (Nova's instance action) for a request. A 'pending' one is an
 * operation that waits its turn; the reconciler starts it.
 */
export async function startAction(
  sql: Sql | TxSql,
  a: {
    instanceId: string;
    projectId: string;
    action: string;
    requestId: string;
    userId: string | null;
    state?: 'pending' | 'running';
    params?: Record<string, unknown>;
  },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into instance_actions (instance_id, project_id, action, request_id, user_id, state, params)
    values (${a.instanceId}, ${a.projectId}, ${a.action}, ${a.requestId}, ${a.userId}, ${a.state ?? 'running'},
            ${sql.json((a.params ?? {}) as never)})
    returning id`;
  return row!.id;
}

/** Whether an operation of the instance waits its turn (queued, not yet started by the reconciler). */
export async function hasPendingOperation(sql: Sql | TxSql, instanceId: string): Promise<boolean> {
  const rows = await sql`select 1 from instance_actions where instance_id = ${instanceId} and state = 'pending' limit 1`;
  return rows.length > 0;
}

export interface ActionEvent {
  event: string;
  result: 'running' | 'success' | 'error';
  hostName?: string | null;
  details?: string;
}

/** Records one step of the instance's current action (the newest running one). */
export async function addActionEvent(sql: Sql | TxSql, instanceId: string, e: ActionEvent): Promise<void> {
  await sql`
    insert into instance_action_events (action_id, event, result, host_name, details, finished_at)
    select id, ${e.event}, ${e.result}, ${e.hostName ?? null}, ${e.details ?? null},
           case when ${e.result} = 'running' then null else now() end
      from running_state_action(${instanceId}, ${INTERFACE_ACTIONS}::text[])`;
}

/** Records one step of a given action (an operation, which may not be the newest). */
export async function addEventTo(sql: Sql | TxSql, actionId: string, e: ActionEvent): Promise<void> {
  await sql`
    insert into instance_action_events (action_id, event, result, host_name, details, finished_at)
    values (${actionId}, ${e.event}, ${e.result}, ${e.hostName ?? null}, ${e.details ?? null},
            case when ${e.result} = 'running' then null else now() end)`;
}

/**
 * Closes the running state-change actions of the instance: they are all satisfied (or failed) by
 * the same state. Queued operations and the one the agent is carrying out are left alone.
 */
export async function finishActions(
  sql: Sql | TxSql,
  instanceId: string,
  state: 'succeeded' | 'failed',
  message?: string,
): Promise<void> {
  await sql`
    update instance_actions set state = ${state}, message = ${message ?? null}, finished_at = now()
     where instance_id = ${instanceId} and state = 'running' and action <> all(${INTERFACE_ACTIONS}::text[])
       and id is distinct from (select current_action_id from instances where id = ${instanceId})`;
}

/** Ends one action (an operation) with its result. */
export async function finishAction(sql: Sql | TxSql, actionId: string, state: 'succeeded' | 'failed', message?: string): Promise<void> {
  await sql`update instance_actions set state = ${state}, message = ${message ?? null}, finished_at = now()
             where id = ${actionId} and state in ('pending', 'running')`;
}

/** Fails every queued or running action of an instance that is going away. */
export async function abandonActions(sql: Sql | TxSql, instanceId: string, why: string): Promise<void> {
  await sql`update instance_actions set state = 'failed', message = ${why}, finished_at = now()
             where instance_id = ${instanceId} and state in ('pending', 'running') and action <> 'delete'`;
}
