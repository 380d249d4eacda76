/**
 * Takes the README's screenshots of the dashboard (docs/screenshots/*.png): starts a control plane
 * on an embedded PostgreSQL in a temporary folder, three fake hosts, the README's first instances,
 * then drives Debian's Chromium through the main pages. Run it with `npm run screenshots`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrreryClient } from '../client/graphql.ts';
import { ensureDashboardBuilt, launchBrowser } from '../test/support/browser.ts';
import { startOrrery } from '../test/support/orrery-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'docs/screenshots');
const PORT = 18774;
const API = `http://127.0.0.1:${PORT}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'orrery-screenshots-'));
chmodSync(dir, 0o755); // as root, the embedded PostgreSQL runs as the postgres user
const env = { ORRERY_DATA_DIR: path.join(dir, 'data'), ORRERY_PORT: String(PORT), ORRERY_EMBEDDED_PG_PORT: '18775' };
const orrery = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(ROOT, 'bin/orrery.js'), ...args], {
    env: { ...process.env, ORRERY_API: API, ORRERY_TOKEN: token() }, encoding: 'utf8',
  }).trim();
const token = () => readFileSync(path.join(env.ORRERY_DATA_DIR, 'admin-token'), 'utf8').trim();

ensureDashboardBuilt();
const server = startOrrery(['server'], env);
const stops: (() => Promise<unknown>)[] = [() => server.stop()];
try {
  await server.waitForLog('Orrery API listening', 120_000);
  const enrollment = orrery('create', 'enrollment-token');
  const agents = startOrrery(['hostagent', '--driver', 'fake', '--hosts', '3', '--name-prefix', 'fake-', '--api', API,
    '--enrollment-token', enrollment, '--state-dir', path.join(dir, 'agents')], {});
  stops.unshift(() => agents.stop());
  orrery('create', 'flavor', 'm1.small', '--vcpus', '1', '--ram', '512', '--disk', '1');
  orrery('create', 'flavor', 'm1.medium', '--vcpus', '2', '--ram', '1024', '--disk', '2');
  const disk = path.join(dir, 'disk.raw');
  writeFileSync(disk, Buffer.alloc(1 << 20));
  orrery('create', 'image', 'blank', '--file', disk, '--disk-format', 'raw', '--public');
  for (const name of ['web-1', 'web-2', 'db-1']) orrery('create', 'instance', name, '--flavor', 'm1.small', '--image', 'blank', '--wait');
  orrery('stop', 'db-1', '--wait');

  mkdirSync(OUT, { recursive: true });
  const browser = await launchBrowser();
  stops.unshift(() => browser.close());
  const page = await browser.context.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`) });
  const visit = async (hash: string, heading: string) => {
    await page.goto(`${API}/#/${hash}`);
    await page.getByRole('heading', { name: heading }).first().waitFor();
  };

  await page.goto(`${API}/`);
  await page.getByLabel('API token').fill(token());
  await shot('login');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('tr[data-instance="web-1"]').waitFor();
  const client = new OrreryClient(API, token());
  stops.unshift(() => client.close());
  await client.request('mutation { createInstance(input: { name: "web-3", flavor: "m1.medium", image: "blank" }) { __typename } }');
  await page.locator('tr[data-instance="web-3"]').waitFor();
  await shot('instances');

  await page.getByRole('link', { name: 'web-1' }).click();
  await page.getByRole('button', { name: 'Open VNC console' }).click();
  await page.locator('.console-state[data-state="connected"]').waitFor();
  await page.getByRole('button', { name: 'Show console output' }).click();
  await page.screenshot({ path: path.join(OUT, 'instance.png'), fullPage: true });

  // A disabled host shows on the hosts page, and as what a filter removed in the placement page.
  await client.request('mutation { updateHost(ref: "fake-3", input: { enabled: false, disabledReason: "new disks" }) { __typename } }');
  await visit('hosts', 'Hosts');
  await shot('hosts');
  await visit('placement', 'Explain placement');
  await page.getByLabel('Flavor').fill('m1.medium');
  await page.getByLabel('Image').fill('blank');
  await page.getByRole('button', { name: 'Explain' }).click();
  await page.getByRole('table').waitFor();
  await shot('placement');
  await visit('quotas', 'Quotas');
  await shot('quotas');
  await page.goto(`${API}/#/explorer`);
  // Execute does nothing until the query editor is up: wait for it to show the default query.
  await page.locator('.graphiql-container .CodeMirror-code').getByText('whoami').first().waitFor();
  await page.getByRole('button', { name: /Execute query/ }).click();
  await page.getByText('"userName": "admin"').waitFor();
  await shot('explorer');
  console.log(`screenshots in ${OUT}`);
} finally {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
}

