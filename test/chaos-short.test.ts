import { describe, expect, it } from 'vitest';
import { CHAOS_TIMINGS } from '../bench/chaos/cluster.ts';
import { printReport } from '../bench/chaos/report.ts';
import { runChaos } from '../bench/chaos/run.ts';

/**
 * The chaos harness (`npm run chaos`) in short: 200 mixed operations on 12 hollow hosts while each
 * API and worker replica and two of the three hollow-host processes are killed with SIGKILL, and
 * PostgreSQL (the harness's own embedded server: the suite's is shared) is restarted once. Every
 * count of bench/chaos/checks.ts must be 0.
 */

// Honest, not merely short: a step whose host never answers legitimately ends only at its task
// deadline, which the reconciler notices on its next look (it looks at a waiting step every 30 s).
const SETTLE_SECONDS = CHAOS_TIMINGS.taskTimeoutSeconds + 30 + 15;

// A passing run takes about a minute on a 2-core box with little else running (nearer two minutes
// under a load of 10); the timeout leaves room for a failing one, which waits out every settle
// deadline before it reports, on a loaded box.
describe('chaos, short', () => {
  it('loses no acknowledged request, leaves nothing stuck, and keeps allocations, usage, domains and actions consistent', { timeout: 400_000 }, async () => {
    const result = await runChaos({
      ops: 200, hosts: 12, hostProcesses: 3, seed: 20_240_601, lanes: 4, spreadSeconds: 40, settleSeconds: SETTLE_SECONDS, faults: 'short',
      say: (line) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`),
    });
    printReport(result);
    // domainsLostWithHypervisor is a known gap, shown in the report and not failed on (see bench/chaos.ts).
    const { details, domainsLostWithHypervisor, ...counts } = result.findings;
    expect({ counts, details: details.filter((d) => !d.startsWith('known gap')) }).toEqual({
      counts: {
        ackLost: 0, stuckInTask: 0, allocationMismatch: 0, usageMismatch: 0,
        domainsWithoutInstance: 0, instancesWithoutDomain: 0, duplicateActions: 0, lostActions: 0,
      },
      details: [],
    });
    // The faults really happened (each kind of process killed, PostgreSQL restarted), and the
    // cluster answered enough requests for the checks to mean something (a request sent to a
    // process or database that is down gets no answer: on a loaded box a restart takes long).
    expect(result.faults.map((f) => f.what.replace(/ \d+$/, ''))).toEqual(
      ['kill -9 api', 'restart PostgreSQL', 'kill -9 hosts', 'kill -9 worker', 'kill -9 api', 'kill -9 hosts', 'kill -9 worker']);
    expect(result.records.filter((r) => r.outcome === 'ack').length).toBeGreaterThan(50);
  });
});
