import { CHAOS_TIMINGS, type Cluster, type Role } from './cluster.ts';

/** One fault, due once this fraction of the operations has been sent. */
export interface Fault {
  at: number;
  what: { kill: Role; index: number; downMs: number } | { postgres: true; downMs: number };
}

/** Long enough for the sweep to declare the hosts down, and for evacuations of their instances. */
const HOSTS_DOWN_MS = (CHAOS_TIMINGS.serviceDownSeconds + 3 * CHAOS_TIMINGS.sweepSeconds + 6) * 1000;

/**
 * Every kind of process killed with SIGKILL (API and worker replicas in turn, hollow-host
 * processes, one of them kept down until its hosts are declared down and evacuated), and
 * PostgreSQL restarted once, spread over the run. `full`: each API and worker replica twice,
 * three hollow-host processes. `short` (for a run of a few hundred operations, in the test suite):
 * each replica once, two hollow-host processes. PostgreSQL early (its restart waits for every
 * process to be up, and the operations wait for it), the last kill at 80% (every process is back
 * about when the operations end), and the hollow-host processes whose API replica (process g
 * talks to API g mod 2) was killed long before: one that comes back to an API still starting, or
 * to a database restarting, retries its enrollment for a long while.
 */
export function faultPlan(c: { apis: number; workers: number; hostProcesses: number }, length: 'full' | 'short'): Fault[] {
  const api = (at: number, i: number): Fault => ({ at, what: { kill: 'api', index: i % c.apis, downMs: 1000 } });
  const worker = (at: number, i: number): Fault => ({ at, what: { kill: 'worker', index: i % c.workers, downMs: 1000 } });
  const hosts = (at: number, i: number, downMs: number): Fault => ({ at, what: { kill: 'hosts', index: i % c.hostProcesses, downMs } });
  const postgres = (at: number): Fault => ({ at, what: { postgres: true, downMs: 2000 } });
  if (length === 'short') {
    return [api(0.1, 0), postgres(0.2), hosts(0.3, 0, HOSTS_DOWN_MS), worker(0.45, 0), api(0.55, 1), hosts(0.7, 2, 1000), worker(0.8, 1)];
  }
  return [
    api(0.08, 0), worker(0.14, 0), hosts(0.2, 0, 1000), api(0.28, 1), worker(0.34, 1),
    hosts(0.4, 1, HOSTS_DOWN_MS),
    postgres(0.6),
    api(0.68, 0), worker(0.74, 0), hosts(0.8, 2, 1000), api(0.88, 1), worker(0.9, 1),
  ];
}

export interface FaultLog {
  at: number;
  what: string;
  seconds: number;
}

/**
 * Runs the plan against the cluster as `progress()` (0..1) advances. A killed process restarts in
 * the background while the next faults come (a second kill of an API or worker waits until its replicas are all back, so one serves);
 * PostgreSQL restarts once every process is up. `next` says where the next fault is due, so the
 * operations can wait for it instead of running ahead. Returns what it did and how long each took.
 */
export class FaultRunner {
  readonly log: FaultLog[] = [];
  private index = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly plan: Fault[],
    private readonly say: (s: string) => void,
  ) {}

  /** The fraction of the operations at which the next fault is due (1: none left). */
  get next(): number {
    return this.plan[this.index]?.at ?? 1;
  }

  async run(progress: () => number): Promise<FaultLog[]> {
    const restarting = new Map<string, Promise<void>>();
    for (; this.index < this.plan.length; ) {
      const f = this.plan[this.index]!;
      while (progress() < f.at) await new Promise((r) => setTimeout(r, 100));
      const t = Date.now();
      const what = 'kill' in f.what ? `kill -9 ${f.what.kill} ${f.what.index}` : 'restart PostgreSQL';
      this.say(`${what} (at ${(progress() * 100).toFixed(0)}% of the operations)`);
      const entry: FaultLog = { at: f.at, what, seconds: NaN };
      this.log.push(entry);
      if ('kill' in f.what) {
        const { kill, index, downMs } = f.what;
        // One API or worker replica down at a time (the other keeps serving); hollow-host processes each their own.
        const key = kill === 'hosts' ? `hosts-${index}` : kill;
        await restarting.get(key);
        restarting.set(key, this.cluster.killAndRestart(kill, index, downMs).then(() => void (entry.seconds = (Date.now() - t) / 1000)));
      } else {
        await Promise.all(restarting.values());
        await this.cluster.restartPostgres(f.what.downMs);
        entry.seconds = (Date.now() - t) / 1000;
      }
      this.index++;
    }
    await Promise.all(restarting.values());
    return this.log;
  }
}
