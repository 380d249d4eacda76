import { readFile } from 'node:fs/promises';
import type { OrreryProcess } from '../test/support/orrery-process.ts';

export interface ProcessStats {
  /** Peak resident set (VmHWM), MiB. */
  peakRssMb: number;
  /** User + system CPU time, seconds. */
  cpuSeconds: number;
}

const TICKS_PER_SECOND = 100;

/** Peak memory and CPU time of a running process, from /proc (Linux). */
export async function processStats(pid: number): Promise<ProcessStats> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  // Fields 14 and 15 of /proc/pid/stat (after the parenthesised command name) are utime and stime.
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return {
    peakRssMb: hwm ? Number(hwm[1]) / 1024 : NaN,
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds of a PostgreSQL server so far, from the postmaster found by one of its backends:
 * its own time, its live children's (backends, background workers), and the children it has reaped
 * (connections that ended). Only meaningful when the server is this benchmark's alone.
 */
export async function postgresCpuSeconds(backendPid: number): Promise<number> {
  const fields = async (pid: number) => (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const postmaster = Number((await fields(backendPid))[1]);
  const own = await fields(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  const children = (await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
  for (const c of children) {
    const f = await fields(Number(c)).catch(() => null);
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Busy CPU-seconds of the whole machine so far (all cores), from /proc/stat. */
export async function machineBusySeconds(): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  return (cpu.reduce((a, b) => a + b, 0) - idle) / TICKS_PER_SECOND;
}

/** The named group of processes of one run, stopped together and measured together. */
export class ProcessGroup {
  private readonly procs: { role: string; p: OrreryProcess }[] = [];

  add(role: string, p: OrreryProcess): OrreryProcess {
    this.procs.push({ role, p });
    return p;
  }

  /** Sums per role ("api", "worker", "hosts"), read while the processes still run. */
  async stats(): Promise<Map<string, ProcessStats & { count: number }>> {
    const out = new Map<string, ProcessStats & { count: number }>();
    for (const { role, p } of this.procs) {
      const s = await processStats(p.pid).catch(() => ({ peakRssMb: NaN, cpuSeconds: NaN }));
      const acc = out.get(role) ?? { peakRssMb: 0, cpuSeconds: 0, count: 0 };
      out.set(role, { peakRssMb: acc.peakRssMb + s.peakRssMb, cpuSeconds: acc.cpuSeconds + s.cpuSeconds, count: acc.count + 1 });
    }
    return out;
  }

  /** CPU seconds of each process of one role so far, in the order they were added. */
  async cpuOf(role: string): Promise<number[]> {
    return Promise.all(this.procs.filter((x) => x.role === role).map((x) => processStats(x.p.pid).then((s) => s.cpuSeconds, () => NaN)));
  }

  /** The last log lines of every process, for the message of a failed run. */
  tails(): string {
    return this.procs.map(({ role, p }) => `--- ${role} (pid ${p.pid})\n${p.tail()}`).join('\n');
  }

  async stopAll(): Promise<void> {
    // Agents first (so they do not log the API's disappearance), then the control plane.
    for (const role of ['hosts', 'api', 'worker']) {
      await Promise.all(this.procs.filter((x) => x.role === role).map((x) => x.p.stop()));
    }
    await Promise.all(this.procs.map((x) => x.p.stop()));
  }
}
