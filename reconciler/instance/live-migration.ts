import type { TxSql } from '../../db/connect.ts';
import { addEventTo, finishAction } from '../../store/actions.ts';
import { hostLiveness, type HostLiveness } from '../../store/host-liveness.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { agentStepOutcome } from './agent-step.ts';
import { noDestination } from './no-destination.ts';
import { chooseAndClaim, requestFor } from './place.ts';
import { agentFailed, converged, deadlinePassed } from './progress.ts';
import { fault, type ReconcileDeps, type ReconcileResult } from './result.ts';

/**
 * Live migration, Nova's steps without the RPC: the scheduler picks and claims a destination; its
 * agent prepares for the guest (pre_live_migration); the source agent hands the running guest over
 * hypervisor to hypervisor; then the instance is bound to the destination and the source's
 * allocation goes. Until the handover the instance stays bound to its source, so a failure at any
 * step leaves it running where it was, and only the destination's claim is given back.
 */

interface LiveMigrationOperation {
  id: string;
  params: { hostId?: string };
}

interface LiveMigrationRow {
  id: string;
  status: 'preparing' | 'prepared' | 'running' | 'error' | 'completed';
  dest_host_id: string;
  failure: string | null;
}

const WAIT_SECONDS = 30;

export async function startLiveMigration(
  tx: TxSql,
  inst: InstanceRow,
  op: LiveMigrationOperation,
  source: HostLiveness,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  // Nova's source check: only a running or paused guest is handed over. A guest whose domain is
  // gone cannot be, and the source's driver would take "no domain here" for a handover already
  // done (the repeat after a crash), binding the instance to a destination that never had it.
  // Until the host has reported the current generation (just moved here, say), its power state
  // says nothing yet: look again shortly.
  if (!converged(inst) && !agentFailed(inst) && source.up) return { requeueAfter: 2, outcome: 'live-migrate waits for the host to report the guest' };
  if (inst.power_state !== 'running' && inst.power_state !== 'paused') {
    return refuse(tx, op.id, `cannot live-migrate instance ${inst.name}: its host ${source.name} shows no running guest (power state ${inst.power_state})`);
  }
  const req = await requestFor(tx, inst, {
    flavorId: inst.flavor_id, ignoredHostIds: [inst.host_id!], requestedHostId: op.params.hostId, live: true,
  });
  const choice = await chooseAndClaim(tx, inst, req, deps);
  if (choice.kind === 'retry') return { requeueAfter: 1, outcome: 'retry-live-migration-placement' };
  if (choice.kind === 'none') return noDestination(tx, inst, op.id, choice.summary);
  const [m] = await tx<{ id: string }[]>`
    insert into migrations (instance_id, kind, status, source_host_id, dest_host_id, old_flavor_id, new_flavor_id)
    values (${inst.id}, 'live-migration', 'preparing', ${inst.host_id}, ${choice.host.id}, ${inst.flavor_id}, ${inst.flavor_id})
    returning id`;
  await tx`update instance_actions set state = 'running' where id = ${op.id}`;
  await tx`
    update instances set current_action_id = ${op.id}, migration_id = ${m!.id}, task_state = 'migrating', fault = null,
           task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds})
     where id = ${inst.id}`;
  await addEventTo(tx, op.id, { event: 'schedule', result: 'success', hostName: choice.host.name });
  await addEventTo(tx, op.id, { event: 'prepare', result: 'running', hostName: choice.host.name, details: `from ${source.name}` });
  return { requeueAfter: WAIT_SECONDS, outcome: `live-migrating to ${choice.host.name}` };
}

/** Refused when its turn comes, as a queued operation the instance can no longer take is. */
async function refuse(tx: TxSql, opId: string, why: string): Promise<ReconcileResult> {
  await addEventTo(tx, opId, { event: 'live-migrate', result: 'error', details: why });
  await finishAction(tx, opId, 'failed', why);
  return { requeueAfter: 0, outcome: 'refused live-migrate' };
}

/** One step of a live migration under way: read where it is, move it on or give it up. */
export async function followLiveMigration(tx: TxSql, inst: InstanceRow, source: HostLiveness, deps: ReconcileDeps): Promise<ReconcileResult> {
  const [m] = await tx<LiveMigrationRow[]>`select id, status, dest_host_id, failure from migrations where id = ${inst.migration_id}`;
  const opId = inst.current_action_id!;
  const dest = await hostLiveness(tx, m!.dest_host_id, deps.config.serviceDownSeconds);
  const give = (why: string) => giveUp(tx, inst, m!, opId, why);
  switch (m!.status) {
    case 'preparing':
      if (!dest.up) return give(`destination ${dest.name} went down while preparing`);
      if (deadlinePassed(inst)) return give(`destination ${dest.name} did not prepare within ${deps.config.spawnTimeoutSeconds} s`);
      return { requeueAfter: WAIT_SECONDS, outcome: 'waiting-live-migration-prepare' };
    case 'error':
      return give(`destination ${dest.name} could not prepare: ${m!.failure ?? 'no reason given'}`);
    case 'prepared':
      // Now the source sees the operation, with where to send the guest.
      await tx`update migrations set status = 'running', updated_at = now() where id = ${m!.id}`;
      await tx`update instances set task_deadline_at = now() + make_interval(secs => ${deps.config.spawnTimeoutSeconds}) where id = ${inst.id}`;
      await addEventTo(tx, opId, { event: 'prepare', result: 'success', hostName: dest.name });
      await addEventTo(tx, opId, { event: 'migrate', result: 'running', hostName: source.name, details: `to ${dest.name}` });
      return { requeueAfter: WAIT_SECONDS, outcome: 'live-migration-handover' };
    case 'running': {
      const outcome = agentStepOutcome(inst, source, 'source', 'the migration', deps.config.spawnTimeoutSeconds);
      if (!outcome) return { requeueAfter: WAIT_SECONDS, outcome: 'waiting-live-migration' };
      return outcome.failure ? give(outcome.failure) : complete(tx, inst, m!, opId, dest);
    }
    default:
      return give(`migration ${m!.id} is ${m!.status}`);
  }
}

/**
 * The guest runs on the destination: bind it there and free the source. What the source last
 * reported (no domain, once it left) says nothing of the destination: its agent reports next.
 */
async function complete(tx: TxSql, inst: InstanceRow, m: LiveMigrationRow, opId: string, dest: HostLiveness): Promise<ReconcileResult> {
  await tx`delete from allocations where instance_id = ${inst.id} and host_id = ${inst.host_id}`;
  await tx`update migrations set status = 'completed', updated_at = now() where id = ${m.id}`;
  await tx`
    update instances set host_id = ${m.dest_host_id}, migration_id = null, current_action_id = null, task_state = null,
           task_deadline_at = null, observed_generation = 0
     where id = ${inst.id}`;
  await addEventTo(tx, opId, { event: 'migrate', result: 'success', hostName: dest.name });
  await finishAction(tx, opId, 'succeeded');
  return { requeueAfter: 0, outcome: `live-migrated to ${dest.name}` };
}

/** The guest stays on its source; the destination's claim goes (its agent drops what it prepared). */
async function giveUp(tx: TxSql, inst: InstanceRow, m: LiveMigrationRow, opId: string, why: string): Promise<ReconcileResult> {
  await tx`delete from allocations where instance_id = ${inst.id} and host_id = ${m.dest_host_id}`;
  await tx`update migrations set status = 'error', failure = coalesce(failure, ${why}), updated_at = now() where id = ${m.id}`;
  await addEventTo(tx, opId, { event: 'migrate', result: 'error', details: why });
  await finishAction(tx, opId, 'failed', why);
  await tx`
    update instances set migration_id = null, current_action_id = null, task_state = null, task_deadline_at = null,
           fault = ${tx.json(fault('MigrationFailed', why) as never)}
     where id = ${inst.id}`;
  return { requeueAfter: 0, outcome: 'live-migration-failed' };
}
