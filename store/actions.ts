import type { Sql, TxSql } from '../db/connect.ts';

/** Opens an action-log record (Nova's instance action) for a request. */
export async function startAction(
  sql: Sql | TxSql,
  a: { instanceId: string; projectId: string; action: string; requestId: string; userId: string | null },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into instance_actions (instance_id, project_id, action, request_id, user_id)
    values (${a.instanceId}, ${a.projectId}, ${a.action}, ${a.requestId}, ${a.userId})
    returning id`;
  return row!.id;
}

/** Records one step of the instance's current action (the newest still running). */
export async function addActionEvent(
  sql: Sql | TxSql,
  instanceId: string,
  e: { event: string; result: 'running' | 'success' | 'error'; hostName?: string | null; details?: string },
): Promise<void> {
  await sql`
    insert into instance_action_events (action_id, event, result, host_name, details, finished_at)
    select id, ${e.event}, ${e.result}, ${e.hostName ?? null}, ${e.details ?? null},
           case when ${e.result} = 'running' then null else now() end
      from instance_actions
     where instance_id = ${instanceId} and state in ('pending', 'running')
     order by started_at desc limit 1`;
}

/** Closes every open action of the instance: they are all satisfied (or failed) by the same state. */
export async function finishActions(
  sql: Sql | TxSql,
  instanceId: string,
  state: 'succeeded' | 'failed',
  message?: string,
): Promise<void> {
  await sql`
    update instance_actions set state = ${state}, message = ${message ?? null}, finished_at = now()
     where instance_id = ${instanceId} and state in ('pending', 'running')`;
}
