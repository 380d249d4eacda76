import type { HostView } from './types.ts';

/** The values a key takes across the host's aggregates (Nova's aggregate_values_from_key). */
export function aggregateValues(host: HostView, key: string): string[] {
  const out: string[] = [];
  for (const a of host.aggregates) {
    const v = a.metadata[key];
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** The smallest numeric value of a key across the host's aggregates; null when none sets one. */
export function aggregateMinimum(host: HostView, key: string): number | null {
  let min: number | null = null;
  for (const v of aggregateValues(host, key)) {
    const n = v.trim() === '' ? NaN : Number(v);
    if (Number.isFinite(n) && (min === null || n < min)) min = n;
  }
  return min;
}
