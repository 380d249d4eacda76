import type { TxSql } from '../db/connect.ts';
import type { HostReport } from './instance-reports.ts';

/**
 * Applies reports of instances bound to their reporters, in the reports' transaction: a compute
 * port is ACTIVE while its MAC is on the instance's domain and DOWN otherwise.
 */
export async function applyInterfaceReports(tx: TxSql, reports: Pick<HostReport, 'id' | 'interfaces'>[]): Promise<void> {
  const seen = reports.filter((r) => r.interfaces !== null).map((r) => ({ id: r.id, macs: r.interfaces }));
  if (seen.length === 0) return;
  await tx`
    with r as (
      select x.id, array(select jsonb_array_elements_text(x.macs))::macaddr[] as macs
        from jsonb_to_recordset(${tx.json(seen as never)}) as x(id uuid, macs jsonb)
    )
    update ports p set status = case when p.mac = any(r.macs) then 'ACTIVE' else 'DOWN' end
      from r
     where p.instance_id = r.id and p.device_owner = 'compute'
       and p.status <> case when p.mac = any(r.macs) then 'ACTIVE' else 'DOWN' end`;
}
