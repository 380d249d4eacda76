import type { TxSql } from '../../db/connect.ts';

export interface Claim {
  instanceId: string;
  hostId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

const CAPACITY_EXCEEDED = 'OR001';

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
    if ((e as { code?: string }).code === CAPACITY_EXCEEDED) return false;
    throw e;
  }
}

/** Gives back everything the instance holds on one host (or everywhere). */
export async function releaseClaims(tx: TxSql, instanceId: string, hostId?: string): Promise<void> {
  if (hostId) await tx`delete from allocations where instance_id = ${instanceId} and host_id = ${hostId}`;
  else await tx`delete from allocations where instance_id = ${instanceId}`;
}
