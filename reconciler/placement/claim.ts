import type { TxSql } from '../../db/connect.ts';
import { claimConflicts } from '../../server/metrics/worker.ts';

export interface Claim {
  instanceId: string;
  hostId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

/** The allocations trigger's refusal of a claim that would pass a host's capacity (SQLSTATE OR001). */
export function isCapacityRefusal(e: unknown): boolean {
  return (e as { code?: string }).code === 'OR001';
}

/**
 * Tries to take the resources on one host. The allocations trigger serialises claims on the host
 * row and refuses one that would pass capacity, so two workers choosing the same host at once
 * can never over-commit it: the loser gets false and tries its next candidate.
 */
export async function tryClaim(tx: TxSql, c: Claim): Promise<boolean> {
  try {
    await tx.savepoint(
      (sp) => sp`insert into allocations (instance_id, host_id, vcpus, memory_mb, disk_gb)
                 values (${c.instanceId}, ${c.hostId}, ${c.vcpus}, ${c.memoryMb}, ${c.diskGb})`,
    );
    return true;
  } catch (e) {
    if (!isCapacityRefusal(e)) throw e;
    claimConflicts.inc({ path: 'single' });
    return false;
  }
}

/**
 * Adds to what the instance already holds on a host (a resize in place holds old + new flavor
 * until it is settled). An update of the row, so the same trigger checks the host's capacity.
 */
export async function growClaim(tx: TxSql, c: Claim): Promise<boolean> {
  try {
    const grown = await tx.savepoint(
      (sp) => sp`update allocations set vcpus = vcpus + ${c.vcpus}, memory_mb = memory_mb + ${c.memoryMb}, disk_gb = disk_gb + ${c.diskGb}
                  where instance_id = ${c.instanceId} and host_id = ${c.hostId}`,
    );
    return grown.count === 1;
  } catch (e) {
    if (!isCapacityRefusal(e)) throw e;
    claimConflicts.inc({ path: 'single' });
    return false;
  }
}

/** Gives back everything the instance holds on one host (or everywhere). */
export async function releaseClaims(tx: TxSql, instanceId: string, hostId?: string): Promise<void> {
  if (hostId) await tx`delete from allocations where instance_id = ${instanceId} and host_id = ${hostId}`;
  else await tx`delete from allocations where instance_id = ${instanceId}`;
}
