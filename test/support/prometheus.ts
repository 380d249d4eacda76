export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** Metric family names from the `# TYPE` lines (a labelled family with no series yet still has one). */
  families: Set<string>;
  /** The sum of the samples of `name` whose labels include all of `labels` (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
  /** Whether `name` is a family, or one of a histogram's or summary's series (_bucket, _sum, _count). */
  has(name: string): boolean;
}

/** GETs a /metrics endpoint and reads its Prometheus text format. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.add(type[1]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return {
    samples,
    families,
    value: (name, want = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
    has: (name) => families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, '')),
  };
}
