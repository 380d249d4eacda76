import { fromPairs } from '../schema/scalars.ts';

/**
 * A GraphQL input as the plain document its JSON Schema checks: absent (null) optional fields
 * dropped, and the named key/value lists turned into maps.
 */
export function compact(input: object, pairFields: readonly string[] = [], root = 'input'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    out[k] = pairFields.includes(k) ? fromPairs(v as { key: string; value: string }[], `${root}.${k}`) : v;
  }
  return out;
}
