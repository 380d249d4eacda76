import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** commander parser for whole-number options (sizes, counts). */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** commander accumulator for repeatable options (`--tag a --tag b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Machine-readable output: the objects as the API returned them. */
export function printData(value: unknown, format: 'json' | 'yaml'): void {
  process.stdout.write(format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value));
}

/** kubectl's table: upper-case headers, columns padded to the widest cell, three spaces apart. */
export function printTable(headers: string[], rows: string[][]): void {
  if (rows.length === 0) {
    process.stderr.write('No resources found.\n');
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const line of [headers, ...rows]) {
    process.stdout.write(line.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd() + '\n');
  }
}

/** kubectl describe's `Key:  value` block, values aligned; nested blocks indent by two. */
export function printFields(fields: [string, string][], indent = 0): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  for (const [k, v] of fields) process.stdout.write(' '.repeat(indent) + `${k}:`.padEnd(width) + v + '\n');
}

export const orDash = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v));

/** Age as kubectl shows it: 45s, 12m, 5h, 3d. */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export const keyValues = (kv: { key: string; value: string }[]): string => kv.map((p) => `${p.key}=${p.value}`).join(',');
