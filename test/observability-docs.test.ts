import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentRegistry } from '../hostagent/metrics.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { parseMetrics, scrape, type Scrape } from './support/prometheus.ts';

const METRIC = /\b(?:orrery|process|nodejs)_[a-z0-9_]+/g;
const doc = (file: string) => readFile(new URL(`../docs/${file}`, import.meta.url), 'utf8');

let tcp: TestControlPlane;
let controlPlane: Scrape;
let agent: Scrape;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  controlPlane = await scrape(`${tcp.url}/metrics`);
  agent = parseMetrics(await agentRegistry().metrics());
});
afterAll(async () => {
  await tcp?.stop();
});

const exists = (name: string) => controlPlane.has(name) || agent.has(name);

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

describe('the sample dashboard, the alert rules and docs/observability.md', () => {
  it('name only metrics that a control plane or a host agent exposes', async () => {
    const dashboard = JSON.parse(await doc('grafana-dashboard.json')) as { panels: Panel[] };
    const alerts = parse(await doc('prometheus-alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const named = new Map<string, string>();
    for (const p of dashboard.panels) for (const t of p.targets ?? []) for (const m of t.expr.match(METRIC) ?? []) named.set(m, `panel "${p.title}"`);
    for (const r of alerts.groups.flatMap((g) => g.rules)) for (const m of r.expr.match(METRIC) ?? []) named.set(m, `alert ${r.alert}`);
    for (const m of (await doc('observability.md')).match(METRIC) ?? []) if (!named.has(m)) named.set(m, 'observability.md');
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter(([m]) => !exists(m)).map(([m, where]) => `${m} (${where})`)).toEqual([]);
  });

  it('the dashboard uses every Orrery metric, and the page describes each in its own table row', async () => {
    const families = [...controlPlane.families, ...agent.families].filter((f) => f.startsWith('orrery_'));
    const page = await doc('observability.md');
    expect(families.filter((f) => !page.includes(`| \`${f}\` |`))).toEqual([]);
    const dashboard = await doc('grafana-dashboard.json');
    expect(families.filter((f) => !dashboard.includes(f))).toEqual([]);
  });

  it('every alert rule has an expression, a severity and a summary', async () => {
    const alerts = parse(await doc('prometheus-alerts.yml')) as {
      groups: { rules: { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }[] }[];
    };
    const rules = alerts.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['OrreryHostDown', 'OrreryJobQueueBehind', 'OrreryNoValidHost', 'OrreryTaskStuck']));
    for (const r of rules) {
      expect(r.expr, r.alert).toMatch(METRIC);
      expect(r.labels.severity, r.alert).toBeTruthy();
      expect(r.annotations.summary, r.alert).toBeTruthy();
    }
  });
});
