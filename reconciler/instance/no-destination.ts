import type { TxSql } from '../../db/connect.ts';
import { addEventTo, finishAction } from '../../store/actions.ts';
import type { InstanceRow } from '../../store/instances.ts';
import { fault, type ReconcileResult } from './result.ts';

/** The scheduler found no destination for a move: it fails, the instance stays where it is. */
export async function noDestination(tx: TxSql, inst: InstanceRow, opId: string, summary: string): Promise<ReconcileResult> {
  const why = `No valid host was found. ${summary}`;
  await addEventTo(tx, opId, { event: 'schedule', result: 'error', details: why });
  await finishAction(tx, opId, 'failed', why);
  await tx`update instances set fault = ${tx.json(fault('NoValidHost', why) as never)} where id = ${inst.id}`;
  return { requeueAfter: 0, outcome: 'move-no-valid-host' };
}
