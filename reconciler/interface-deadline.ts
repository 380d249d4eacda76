import type { Sql } from '../db/connect.ts';

/**
 * An interface attach or detach still waiting for its host at its deadline fails, saying so. The
 * port stays as asked: a host that catches up later still plugs or unplugs it, and reports it.
 */
export async function expireInterfaceAction(sql: Sql, actionId: string, seconds: number): Promise<boolean> {
  const expired = await sql`
    with failed as (
      update instance_actions
         set state = 'failed', finished_at = now(),
             message = 'the host did not ' || case when action = 'attach-interface' then 'plug' else 'unplug' end
                       || ' the interface within ' || ${seconds}::int || ' s'
       where id = ${actionId} and state = 'running'
      returning id, action, message
    )
    insert into instance_action_events (action_id, event, result, details, finished_at)
    select id, action, 'error', message, now() from failed`;
  return expired.count > 0;
}
