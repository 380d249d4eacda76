import type { Sql, TxSql } from '../db/connect.ts';
import { applyInterfaceReports, type InterfaceReport } from './interface-reports.ts';
import { enqueueBatch, enqueueReconcileMany } from './jobs.ts';
import { isUuid } from './instances.ts';

/** What one host's agent observed of one instance; `hostId` is the reporter, from its credential. */
export interface HostReport extends InterfaceReport {
  observedGeneration: number;
  powerState: string;
  fault: { code: string; message: string; details?: string | null } | null;
  completedOperation: string | null;
}

/**
 * Applies the reports of many hosts in one transaction and says, per report, whether it was
 * accepted: a report counts only when its instance is bound to the host that sent it. Reports that
 * change something wake the reconciler (debounced by job key). The same instance twice in one
 * batch is applied in arrival order, one round each, so a later report wins as it would alone.
 */
export async function applyInstanceReports(sql: Sql, reports: HostReport[]): Promise<boolean[]> {
  const accepted: boolean[] = [];
  return sql.begin(async (tx) => {
    const builds = new Set<string>();
    for (const round of rounds(reports)) {
      const binding = await lockBound(tx, round.map((i) => reports[i]!.id));
      const isMine = (i: number) => binding.get(reports[i]!.id) === reports[i]!.hostId;
      const mine = round.filter(isMine).map((i) => reports[i]!);
      const changed = await applyRound(tx, mine);
      await applyInterfaceReports(tx, mine);
      // New builds are settled in batches; everything else is reconciled one by one.
      for (const c of changed) if (c.vm_state === 'building') builds.add(c.id);
      await enqueueReconcileMany(tx, 'instance', changed.filter((c) => c.vm_state !== 'building').map((c) => c.id).sort());
      for (const i of round) accepted[i] = isMine(i);
    }
    await enqueueBatch(tx, 'complete_builds', [...builds]);
    return accepted;
  });
}

/** Splits a batch (as indexes into it) so no instance appears twice in one statement. */
function rounds(reports: HostReport[]): number[][] {
  const out: number[][] = [];
  const seen = new Map<string, number>();
  reports.forEach((r, i) => {
    const n = seen.get(r.id) ?? 0;
    seen.set(r.id, n + 1);
    (out[n] ??= []).push(i);
  });
  return out;
}

/**
 * Locks the reported instances in id order (no deadlock between replicas) and reads their host.
 * No key changes here, so rows that only reference an instance (its console) need not wait.
 */
async function lockBound(tx: TxSql, ids: string[]): Promise<Map<string, string | null>> {
  const valid = ids.filter(isUuid);
  const rows = await tx<{ id: string; host_id: string | null }[]>`
    select id, host_id from instances where id = any(${valid}::uuid[]) order by id for no key update`;
  return new Map(rows.map((r) => [r.id, r.host_id]));
}

async function applyRound(tx: TxSql, reports: HostReport[]): Promise<{ id: string; vm_state: string }[]> {
  if (reports.length === 0) return [];
  // A fault sticks to the generation it belongs to: a later fault-free report of the same
  // generation (the agent re-observing a domain it failed to build) must not erase it.
  return tx<{ id: string; vm_state: string }[]>`
    with r as (
      select * from jsonb_to_recordset(${tx.json(
        reports.map((r) => ({
          id: r.id,
          host_id: r.hostId,
          observed_generation: r.observedGeneration,
          power_state: r.powerState,
          fault: r.fault ? { code: r.fault.code, message: r.fault.message, details: r.fault.details ?? undefined } : null,
          completed_operation: r.completedOperation,
        })) as never,
      )}) as x(id uuid, host_id uuid, observed_generation int, power_state text, fault jsonb, completed_operation uuid)
    ), next as (
      select r.id, r.observed_generation, r.power_state,
             coalesce(r.completed_operation, i.agent_completed_action_id) as completed_operation,
             case when r.fault is not null and r.completed_operation is not null
                    then r.fault || jsonb_build_object('action', r.completed_operation, 'time', now())
                  when r.fault is not null
                    then r.fault || jsonb_build_object('generation', r.observed_generation, 'time', now())
                  when (i.agent_fault->>'generation')::int >= r.observed_generation then i.agent_fault
                  when (i.agent_fault->>'action')::uuid = i.current_action_id then i.agent_fault
             end as agent_fault
        from r join instances i on i.id = r.id and i.host_id = r.host_id
    )
    update instances i set
      observed_generation = n.observed_generation,
      power_state = n.power_state,
      agent_fault = n.agent_fault,
      agent_completed_action_id = n.completed_operation,
      agent_reported_at = now()
    from next n
    where i.id = n.id
      and (i.observed_generation is distinct from n.observed_generation
           or i.power_state is distinct from n.power_state
           or i.agent_completed_action_id is distinct from n.completed_operation
           or (i.agent_fault - 'time') is distinct from (n.agent_fault - 'time'))
    returning i.id, i.vm_state`;
}
