import { printTable } from '../stats.ts';
import type { ChaosResult } from './run.ts';

const CHECKS: [keyof ChaosResult['findings'], string][] = [
  ['ackLost', 'acknowledged requests lost'],
  ['stuckInTask', 'instances stuck in a task state'],
  ['allocationMismatch', 'allocations not matching instances'],
  ['usageMismatch', 'host usage ≠ sum of allocations'],
  ['domainsWithoutInstance', 'domains on fake hosts without their instance'],
  ['instancesWithoutDomain', 'instances without their domain'],
  ['duplicateActions', 'duplicate actions'],
  ['lostActions', 'lost (never finished) actions'],
];

/** The sum of every failing count (0: the run passed). */
export function failures(r: ChaosResult): number {
  return CHECKS.reduce((s, [k]) => s + (r.findings[k] as number), 0);
}

export function printReport(r: ChaosResult): void {
  const byKind = new Map<string, { ack: number; refused: number; failed: number }>();
  for (const rec of r.records) {
    const k = byKind.get(rec.kind) ?? { ack: 0, refused: 0, failed: 0 };
    k[rec.outcome]++;
    byKind.set(rec.kind, k);
  }
  const total = { ack: 0, refused: 0, failed: 0 };
  for (const k of byKind.values()) (['ack', 'refused', 'failed'] as const).forEach((o) => (total[o] += k[o]));
  printTable('Operations (acknowledged / refused by state, a legitimate answer / no answer: the process or database was down)', [
    ['operation', 'acknowledged', 'refused', 'no answer'],
    ...[...byKind.entries()].sort().map(([kind, k]) => [kind, String(k.ack), String(k.refused), String(k.failed)]),
    ['all', String(total.ack), String(total.refused), String(total.failed)],
  ]);
  printTable('Faults', [['fault', 'seconds until back'], ...r.faults.map((f) => [f.what, f.seconds.toFixed(1)])]);
  printTable(`Checks (${r.liveInstances} instances at the end, ${r.errorInstances} of them in ERROR; ` +
    `setup ${r.seconds.setup.toFixed(0)} s, operations ${r.seconds.operations.toFixed(0)} s, settle ${r.seconds.settle.toFixed(0)} s, total ${r.seconds.total.toFixed(0)} s)`, [
    ['check', 'count'],
    ...CHECKS.map(([k, label]) => [label, String(r.findings[k])]),
    ['(known gap, not failed on) domains lost with their killed fake hypervisor', String(r.findings.domainsLostWithHypervisor)],
  ]);
  for (const d of r.findings.details.slice(0, 50)) console.log(`  ${d}`);
  if (r.findings.details.length > 50) console.log(`  … and ${r.findings.details.length - 50} more`);
}
