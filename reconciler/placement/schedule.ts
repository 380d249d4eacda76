import type { Filter, HostView, PlacementRequest, Weigher } from './types.ts';

export interface Rejection {
  host: string;
  filter: string;
  reason: string;
}

export interface ScheduleResult {
  /** Hosts that passed every filter, best first. */
  ranked: { host: HostView; weight: number }[];
  rejected: Rejection[];
}

/** Runs filters in order (a host stops at the first that says no), then the weighers, Nova-style. */
export function schedule(
  req: PlacementRequest,
  hosts: HostView[],
  filters: Filter[],
  weighers: Weigher[],
): ScheduleResult {
  const rejected: Rejection[] = [];
  const passed: HostView[] = [];
  for (const host of hosts) {
    let ok = true;
    for (const f of filters) {
      const reason = f.check(req, host);
      if (reason !== null) {
        rejected.push({ host: host.name, filter: f.name, reason });
        ok = false;
        break;
      }
    }
    if (ok) passed.push(host);
  }
  const weights = new Map<HostView, number>(passed.map((h) => [h, 0]));
  for (const w of weighers) {
    const raw = passed.map((h) => w.weigh(req, h));
    const min = Math.min(...raw);
    const max = Math.max(...raw);
    passed.forEach((h, i) => {
      const normalised = max === min ? 0 : (raw[i]! - min) / (max - min);
      weights.set(h, weights.get(h)! + w.multiplier * normalised);
    });
  }
  const ranked = passed
    .map((host) => ({ host, weight: weights.get(host)! }))
    .sort((a, b) => b.weight - a.weight || a.host.name.localeCompare(b.host.name));
  return { ranked, rejected };
}

/** "3 hosts: 2 RAM (lacks RAM ...), 1 Compute (disabled)" — the answer "No valid host" never gives. */
export function summariseRejections(total: number, rejected: Rejection[]): string {
  if (total === 0) return 'no hosts are enrolled';
  const byFilter = new Map<string, Rejection[]>();
  for (const r of rejected) byFilter.set(r.filter, [...(byFilter.get(r.filter) ?? []), r]);
  const parts = [...byFilter.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([filter, rs]) => `${rs.length} rejected by ${filter} (${rs[0]!.reason}${rs.length > 1 ? ', …' : ''})`);
  return `${total} host${total === 1 ? '' : 's'}: ${parts.join('; ')}`;
}
