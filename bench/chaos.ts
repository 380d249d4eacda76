/**
 * Chaos harness: PostgreSQL, `orrery api` ×2, `orrery worker` ×2 and hollow hosts (fake
 * hypervisors) in several processes, all on 127.0.0.1; mixed operations through the API while
 * every kind of process is killed with SIGKILL several times and PostgreSQL is restarted once;
 * then checks what must hold (see bench/chaos/checks.ts) and exits 1 on any finding.
 *
 *   npm run chaos                       1,000 operations on 50 hosts
 *   options: --ops N  --hosts N  --host-processes N  --seed N  --lanes N  --spread SECONDS  --settle SECONDS
 *            --faults full|short (short: each replica killed once, for a few hundred operations)
 *            --hard-stop SECONDS (default 600: the whole run is abandoned, exit 2)
 *
 * Known gaps, shown on their own lines and not failed on: a fake hypervisor lives in its
 * hollow-host process, so kill -9 of that process is a host power loss, not only an agent crash.
 * Its agents come back, find the domains of their settled instances gone and report power state
 * nostate; nothing rebuilds them (the instance stays ACTIVE/STOPPED, as Nova leaves an instance it
 * finds "unexpectedly not found"; Nova's opt-in resume_guests_state_on_host_boot has no
 * counterpart). And a live migration whose source lost its hypervisor during the handover is
 * reported done: the source's agent, back, finds no domain, which a driver takes for a handover
 * already made (the repeat after an agent crash), and the instance is bound to a destination
 * that never received it. Any other instance without its domain is a failure.
 */
import { printReport, failures } from './chaos/report.ts';
import { runChaos } from './chaos/run.ts';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const ops = Number(option('--ops', '1000'));
const faults = option('--faults', 'full');
if (faults !== 'full' && faults !== 'short') throw new Error(`--faults is full or short, not ${faults}`);
const hardStop = setTimeout(() => {
  console.error(`chaos: hard stop after ${option('--hard-stop', '600')} s`);
  process.exit(2);
}, Number(option('--hard-stop', '600')) * 1000);
hardStop.unref();

const result = await runChaos({
  ops,
  hosts: Number(option('--hosts', '50')),
  hostProcesses: Number(option('--host-processes', '5')),
  seed: Number(option('--seed', String(Date.now() % 100_000))),
  lanes: Number(option('--lanes', '6')),
  spreadSeconds: Number(option('--spread', String(Math.max(45, ops / 4)))),
  settleSeconds: Number(option('--settle', '120')),
  faults,
  say: (line) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`),
});
printReport(result);
process.exit(failures(result) > 0 ? 1 : 0);
