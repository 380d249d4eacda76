import type { HostView } from '../types.ts';

/** "lack RAM (need 4096 MiB, best has 2048)": what the roomiest rejected host still had. */
export function capacitySummary(what: string, need: number, unit: string, rejected: HostView[], free: (h: HostView) => number): string {
  const best = Math.max(...rejected.map(free));
  return `lack ${what} (need ${need}${unit}, best has ${best})`;
}
