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
