/** Field-by-field comparison of a file's spec with what the API shows, shared by every kind's diff. */

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

/** How one field differs: changed in place, by a replacement, or not at all (the kind cannot change it). */
export interface Diff {
  update: FieldChange[];
  replace: FieldChange[];
  fixed: FieldChange[];
}

/** JSON with object keys sorted: the server's jsonb keeps its own key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

export function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '(none)';
  if (Array.isArray(v)) return `[${v.map((x) => (x && typeof x === 'object' ? show(x) : String(x))).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).join(', ')}}`;
  const s = String(v);
  // Long values (public keys, user data) keep both ends: keys of one type share their start.
  return s.length > 48 ? `${s.slice(0, 20)}…${s.slice(-24)}` : s;
}

/** Compares field by field; `into` says which list a difference goes to. */
export function differ() {
  const d: Diff = { update: [], replace: [], fixed: [] };
  const compare = (into: keyof Diff, field: string, from: unknown, to: unknown, same = canonical(from) === canonical(to)) => {
    if (!same) d[into].push({ field, from: show(from), to: show(to) });
  };
  return { d, compare };
}
