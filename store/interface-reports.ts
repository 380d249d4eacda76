import type { TxSql } from '../db/connect.ts';
import { INTERFACE_ACTIONS } from './actions.ts';

/** What a host's report says of one instance's NICs; `hostId` is the reporter, from its credential. */
export interface InterfaceReport {
  hostId: string;
  id: string;
  /** MACs of the NICs on the domain; null when the report does not say. */
  interfaces: string[] | null;
  interfaceFaults: { mac: string; message: string }[];
}

/**
 * Applies reports of instances bound to their reporters, in the reports' transaction. A compute
 * port is ACTIVE while its MAC is on the instance's domain and DOWN otherwise; an attach is done
 * once its MAC is there and a detach once it is gone, and either fails with the reason the host
 * gave for not plugging or unplugging it.
 */
export async function applyInterfaceReports(
  tx: TxSql,
  reports: InterfaceReport[],
): Promise<void> {
  const seen = reports.filter((r) => r.interfaces !== null).map((r) => ({ id: r.id, host_id: r.hostId, macs: r.interfaces }));
  if (seen.length > 0) {
    // One statement: the port statuses (a data-modifying CTE runs unreferenced) and the actions.
    await tx`
      with r as (
        select x.id, x.host_id, array(select jsonb_array_elements_text(x.macs))::macaddr[] as macs
          from jsonb_to_recordset(${tx.json(seen as never)}) as x(id uuid, host_id uuid, macs jsonb)
      ), statuses as (
        -- Instance ids as an array, here and below: the planner then probes the ports' and the
        -- actions' instance indexes for the batch's few instances instead of hashing every row
        -- of both tables (10 ms per batch at 10k instances, almost always to update nothing).
        update ports p set status = case when p.mac = any(r.macs) then 'ACTIVE' else 'DOWN' end
          from r
         where p.instance_id = any(array(select id from r)) and p.instance_id = r.id and p.device_owner = 'compute'
           and p.status <> case when p.mac = any(r.macs) then 'ACTIVE' else 'DOWN' end
      ), done as (
        update instance_actions a set state = 'succeeded', finished_at = now()
          from r
         where a.instance_id = any(array(select id from r)) and a.instance_id = r.id
           and a.state = 'running' and a.action = any(${INTERFACE_ACTIONS}::text[])
           and ((a.params->>'mac')::macaddr = any(r.macs)) = (a.action = 'attach-interface')
        returning a.id, a.action, r.host_id
      )
      insert into instance_action_events (action_id, event, result, host_name, finished_at)
      select d.id, d.action, 'success', h.name, now() from done d join hosts h on h.id = d.host_id`;
  }
  const faults = reports.flatMap((r) => r.interfaceFaults.map((f) => ({ id: r.id, host_id: r.hostId, mac: f.mac, message: f.message })));
  if (faults.length > 0) {
    await tx`
      with f as (
        select * from jsonb_to_recordset(${tx.json(faults as never)}) as x(id uuid, host_id uuid, mac macaddr, message text)
      ), failed as (
        update instance_actions a set state = 'failed', message = f.message, finished_at = now()
          from f
         where a.instance_id = f.id and a.state = 'running' and a.action = any(${INTERFACE_ACTIONS}::text[])
           and (a.params->>'mac')::macaddr = f.mac
        returning a.id, a.action, f.host_id, f.message
      )
      insert into instance_action_events (action_id, event, result, host_name, details, finished_at)
      select d.id, d.action, 'error', h.name, d.message, now() from failed d join hosts h on h.id = d.host_id`;
  }
}
