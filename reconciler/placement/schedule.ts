import { aggregateMinimum } from './aggregate-values.ts';
import type { Filter, HostView, PlacementRequest, Weigher } from './types.ts';

export interface Rejection {
  host: HostView;
  filter: Filter;
  reason: string;
}

export interface Ranked {
  host: HostView;
  weight: number;
}

export interface ScheduleResult {
  /** Hosts that passed every filter, best first. */
  ranked: Ranked[];
  rejected: Rejection[];
}

/** Runs filters in order (a host stops at the first that says no), then the weighers, Nova-style. */
export function schedule(req: PlacementRequest, hosts: HostView[], filters: Filter[], weighers: Weigher[]): ScheduleResult {
  const rejected: Rejection[] = [];
  const passed: HostView[] = [];
  for (const host of hosts) {
    let ok = true;
    for (const filter of filters) {
      const reason = filter.check(req, host);
      if (reason !== null) {
        rejected.push({ host, filter, reason });
        ok = false;
        break;
      }
    }
    if (ok) passed.push(host);
  }
  const weights = passed.map(() => 0);
  for (const w of weighers) {
    const base = req.config.weighers[w.name as keyof PlacementRequest['config']['weighers']] ?? 0;
    // Per host: the smallest multiplier its aggregates set, else the configured one (Nova).
    const multipliers = passed.map((h) => aggregateMinimum(h, w.multiplierKey) ?? base);
    if (multipliers.every((m) => m === 0)) continue;
    const raw = passed.map((h) => w.weigh(req, h));
    let min = Infinity;
    let max = -Infinity;
    for (const r of raw) {
      if (r < min) min = r;
      if (r > max) max = r;
    }
    if (max === min) continue; // every host alike: normalised to 0, as in Nova
    raw.forEach((r, i) => (weights[i]! += multipliers[i]! * ((r - min) / (max - min))));
  }
  const ranked = passed
    .map((host, i) => ({ host, weight: weights[i]! }))
    .sort((a, b) => b.weight - a.weight || a.host.name.localeCompare(b.host.name));
  return { ranked, rejected };
}

/**
 * The order claims are tried in: one host chosen at random among the best `subsetSize`, or among
 * every host tied for the best weight if there are more of those (so concurrent placements do not
 * all race for the same row: in a fleet of alike hosts the weighers cannot tell the first few
 * apart, and a name order would send every placement of a burst to one host), then the others as
 * alternates.
 */
export function claimOrder(ranked: Ranked[], subsetSize: number, random: () => number = Math.random): Ranked[] {
  let tied = 0;
  while (tied < ranked.length && ranked[tied]!.weight === ranked[0]!.weight) tied++;
  const n = Math.max(Math.min(subsetSize, ranked.length), tied);
  if (n <= 1) return ranked;
  const pick = Math.floor(random() * n);
  return [ranked[pick]!, ...ranked.slice(0, pick), ...ranked.slice(pick + 1)];
}

/**
 * "3 hosts: 2 rejected by RAM: lack RAM (need 4096 MiB, best has 2048); 1 rejected by Compute:
 * disabled" — the answer "No valid host" never gives, naming the filters that emptied the list.
 */
export function summariseRejections(req: PlacementRequest, total: number, rejected: Rejection[]): string {
  if (total === 0) return 'no hosts are enrolled';
  const byFilter = new Map<Filter, Rejection[]>();
  for (const r of rejected) byFilter.set(r.filter, [...(byFilter.get(r.filter) ?? []), r]);
  const parts = [...byFilter.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([filter, rs]) => {
      const phrase = filter.summarise
        ? filter.summarise(req, rs.map((r) => r.host))
        : rs[0]!.reason + (rs.some((r) => r.reason !== rs[0]!.reason) ? ', …' : '');
      return `${rs.length} rejected by ${filter.name}: ${phrase}`;
    });
  return `${total} host${total === 1 ? '' : 's'}: ${parts.join('; ')}`;
}
