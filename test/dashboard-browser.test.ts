import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { browserUnavailable, ensureDashboardBuilt, launchBrowser } from './support/browser.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

// The functions handed to page.evaluate run in the browser; this project compiles without the DOM's
// types, so they reach its globals through this.
type BrowserGlobals = any;

const unavailable = browserUnavailable();
if (unavailable) console.warn(`\n*** SKIPPING the dashboard browser tests: ${unavailable} ***\n`);

// Each fake hypervisor call takes this long, so BUILD lasts long enough to be seen.
const DRIVER_DELAY_MS = 1500;
const UI_TIMEOUT = 30_000;

describe.skipIf(unavailable !== null)('the dashboard in Chromium', () => {
  let tcp: TestControlPlane;
  let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
  let moreHosts: Awaited<ReturnType<typeof startFakeHosts>> | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let member: { client: OrreryClient; projectId: string; userId: string };
  let admin: Page;
  let instanceId = '';
  // What the page's Content-Security-Policy blocked: nothing the dashboard needs may be.
  const refused: string[] = [];

  beforeAll(async () => {
    ensureDashboardBuilt();
    tcp = await startTestControlPlane();
    await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
    await seedImage(tcp.db.sql, tcp.adminProjectId);
    hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'dash-a', driver: { delayMs: DRIVER_DELAY_MS } }]);
    member = await tcp.userClient('dash-project', 'dash-member', ['member']);
    browser = await launchBrowser();
    admin = await browser.context.newPage();
    admin.on('console', (m) => {
      if (/Content Security Policy/.test(m.text())) refused.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await moreHosts?.stop();
    await hosts?.stop();
    await tcp?.stop();
  });

  async function logIn(page: Page, token: string): Promise<void> {
    await page.goto(`${tcp.url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor({ timeout: UI_TIMEOUT });
    // "n of m" replaces "Loading…" once the subscription is up and the first read is in.
    await page.getByText(/^\d+ of \d+$/).waitFor({ timeout: UI_TIMEOUT });
  }

  const statusCell = (page: Page, name: string) => page.locator(`tr[data-instance="${name}"] td.status`);
  const waitForStatus = (page: Page, name: string, status: string) =>
    page.locator(`tr[data-instance="${name}"] td.status[data-status="${status}"]`).waitFor({ timeout: UI_TIMEOUT });

  it('logs in with a pasted token kept in sessionStorage only, and shows the live instance table', async () => {
    await logIn(admin, tcp.admin.token);
    expect(await admin.evaluate(() => (globalThis as BrowserGlobals).sessionStorage.getItem('orrery.token'))).toBe(tcp.admin.token);
    expect(await admin.evaluate(() => (globalThis as BrowserGlobals).localStorage.length)).toBe(0);
    await expect(admin.getByRole('link', { name: 'Hosts' }).count()).resolves.toBe(1);
    // The keyboard's first stop skips the navigation.
    await admin.keyboard.press('Tab');
    await expect(admin.evaluate(() => (globalThis as BrowserGlobals).document.activeElement?.textContent)).resolves.toBe('Skip to content');
    await admin.keyboard.press('Enter');
    await expect(admin.evaluate(() => (globalThis as BrowserGlobals).document.activeElement?.id)).resolves.toBe('content');
    // The static page is public; the data behind it is not.
    const anonymous = await fetch(`${tcp.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ instances { edges { node { id } } } }' }) });
    const body = (await anonymous.json()) as { data?: unknown; errors?: { message: string }[] };
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.message).toBe('missing bearer token');
  });

  it('shows an instance going BUILD → ACTIVE as it happens, without a reload', async () => {
    // Record every status the row shows, and mark the page: a reload would lose the mark.
    await admin.evaluate(() => {
      const w: BrowserGlobals = globalThis;
      w.seen = [];
      w.mark = true;
      new w.MutationObserver(() => {
        const s: string | undefined = w.document.querySelector('tr[data-instance="web-1"] td.status')?.textContent;
        if (s && w.seen.at(-1) !== s) w.seen.push(s);
      }).observe(w.document.body, { subtree: true, childList: true, characterData: true });
    });
    const made = await createInstance(tcp.admin, { name: 'web-1', flavor: 'm1.small', image: 'test-image' });
    expect(made.__typename).toBe('CreateInstanceSuccess');
    instanceId = made.instance.id;
    await waitForStatus(admin, 'web-1', 'ACTIVE');
    const seen = await admin.evaluate((): string[] => (globalThis as BrowserGlobals).seen);
    expect(seen[0]).toBe('BUILD');
    expect(seen.at(-1)).toBe('ACTIVE');
    expect(await admin.evaluate((): boolean => (globalThis as BrowserGlobals).mark)).toBe(true);
    const row = await instanceRow(tcp.db.sql, instanceId);
    expect(row).toMatchObject({ vm_state: 'active', power_state: 'running' });
    await expect(admin.locator('tr[data-instance="web-1"] td').nth(4).textContent()).resolves.toBe('dash-a');
  });

  it('stops the instance from its row: the database says SHUTOFF and the row follows', async () => {
    await admin.getByRole('button', { name: 'Stop web-1' }).click();
    const row = await waitFor('stopped in the database', () => instanceRow(tcp.db.sql, instanceId),
      (r) => r?.vm_state === 'stopped' && r.power_state === 'shutdown' && r.task_state === null, UI_TIMEOUT);
    expect(row).toMatchObject({ desired_power_state: 'stopped' });
    await waitForStatus(admin, 'web-1', 'SHUTOFF');
    const api = await tcp.admin.request('query($id: ID!) { instance(id: $id) { status } }', { id: instanceId });
    expect(api.instance.status).toBe('SHUTOFF');
    // A stopped instance is not offered Stop any more.
    await expect(admin.getByRole('button', { name: 'Stop web-1' }).count()).resolves.toBe(0);
  });

  it('starts it again and draws its VNC screen with noVNC through the console proxy', async () => {
    await admin.getByRole('button', { name: 'Start web-1' }).click();
    await waitForStatus(admin, 'web-1', 'ACTIVE');
    await admin.getByRole('link', { name: 'web-1' }).click();
    await admin.getByRole('heading', { name: 'web-1' }).waitFor({ timeout: UI_TIMEOUT });
    await admin.getByRole('button', { name: 'Open VNC console' }).click();
    await admin.locator('.console-state[data-state="connected"]').waitFor({ timeout: UI_TIMEOUT });
    // The fake host's screen is 16×8 pixels of one grey (every byte 0x40): wait until noVNC drew it.
    const drawn = await admin.waitForFunction(() => {
      const canvas: BrowserGlobals = (globalThis as BrowserGlobals).document.querySelector('[data-testid="vnc-screen"] canvas');
      if (!canvas || canvas.width !== 16 || canvas.height !== 8) return null;
      const px: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, 16, 8).data;
      for (let i = 0; i < px.length; i += 4) if (px[i] !== 64 || px[i + 1] !== 64 || px[i + 2] !== 64 || px[i + 3] !== 255) return null;
      return { width: canvas.width, height: canvas.height };
    }, undefined, { timeout: UI_TIMEOUT });
    expect(await drawn.jsonValue()).toEqual({ width: 16, height: 8 });
    const [token] = await tcp.db.sql<{ kind: string; used_at: Date | null; host_connected_at: Date | null; created_by: string }[]>`
      select kind, used_at, host_connected_at, created_by from console_tokens where instance_id = ${instanceId}`;
    expect(token).toMatchObject({ kind: 'vnc' });
    expect(token!.used_at).not.toBeNull();
    expect(token!.host_connected_at).not.toBeNull();
    expect(hosts[0]!.driver.consolesOpened).toContainEqual({ id: instanceId, kind: 'vnc' });
    await admin.getByRole('button', { name: 'Close console' }).click();
    await admin.locator('.console-state[data-state="disconnected"]').waitFor({ timeout: UI_TIMEOUT });
  });

  it("types into the serial console in the page and shows what the guest's port sends back", async () => {
    await admin.getByRole('button', { name: 'Open serial console' }).click();
    await admin.getByRole('button', { name: 'Close serial console' }).waitFor({ timeout: UI_TIMEOUT });
    await admin.getByLabel('Type a line').fill('uname -a');
    await admin.getByRole('button', { name: 'Send' }).click();
    // The fake guest's serial port echoes, as a terminal does.
    await admin.getByLabel('Serial output').getByText('uname -a').waitFor({ timeout: UI_TIMEOUT });
    expect(hosts[0]!.driver.consolesOpened).toContainEqual({ id: instanceId, kind: 'serial' });
    await admin.getByRole('button', { name: 'Close serial console' }).click();
    await admin.getByRole('button', { name: 'Open serial console' }).waitFor({ timeout: UI_TIMEOUT });
    await waitFor('the serial session ended', async () => (await tcp.db.sql<{ ended_at: Date | null }[]>`
      select ended_at from console_tokens where instance_id = ${instanceId} and kind = 'serial'`)[0], (t) => t?.ended_at != null, UI_TIMEOUT);
  });

  it("shows a member only its project's instances, and no admin pages or actions", async () => {
    const own = await createInstance(member.client, { name: 'member-vm', flavor: 'm1.small', image: 'test-image' });
    expect(own.__typename).toBe('CreateInstanceSuccess');
    const page = await browser.context.newPage();
    await logIn(page, member.client.token);
    await waitForStatus(page, 'member-vm', 'ACTIVE');
    await expect(page.locator('tr[data-instance]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance'))))
      .resolves.toEqual(['member-vm']);
    const nav = await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents();
    expect(nav).toContain('Instances');
    expect(nav).not.toContain('Hosts');
    expect(nav).not.toContain('Aggregates');
    expect(nav).not.toContain('Explain placement');
    const buttons = await page.locator('tr[data-instance="member-vm"] button').allTextContents();
    expect(buttons).toEqual(expect.arrayContaining(['Stop', 'Reboot', 'Delete']));
    expect(buttons).not.toContain('Migrate');
    expect(await page.getByRole('columnheader', { name: 'Host' }).count()).toBe(0);
    expect(await page.getByLabel('All projects').count()).toBe(0);
    // A refused action says why, in its row, and changes nothing.
    const row = page.locator('tr[data-instance="member-vm"]');
    await row.getByRole('button', { name: 'Resize member-vm' }).click();
    await row.getByLabel('New flavor').fill('m1.nope');
    await row.getByRole('button', { name: 'Resize', exact: true }).click();
    await expect(row.getByRole('alert').textContent()).resolves.toMatch(/^Resize: .*m1\.nope/);
    const [flavor] = await tcp.db.sql<{ name: string }[]>`
      select f.name from instances i join flavors f on f.id = i.flavor_id where i.id = ${own.instance.id}`;
    expect(flavor!.name).toBe('m1.small');
    await page.goto(`${tcp.url}/#/hosts`);
    await page.getByText('There is no page “hosts” for you here.').waitFor({ timeout: UI_TIMEOUT });
    // The admin's instance stays out of the member's table even as it changes.
    await tcp.admin.request('mutation($id: ID!) { rebootInstance(id: $id) { __typename } }', { id: instanceId });
    await page.goto(`${tcp.url}/#/instances`);
    await waitForStatus(page, 'member-vm', 'ACTIVE');
    expect(await statusCell(page, 'web-1').count()).toBe(0);
    await page.close();
  });

  it('shows hosts with their usage, and disables and enables one with a reason (admins)', async () => {
    await admin.goto(`${tcp.url}/#/hosts`);
    const row = admin.locator('tr[data-host="dash-a"]');
    await row.locator('td.status[data-status="up"]').waitFor({ timeout: UI_TIMEOUT });
    // web-1 and member-vm run there, one vCPU and 512 MB each.
    await expect(row.locator('td').nth(5).textContent()).resolves.toBe('2');
    await expect(row.getByLabel('RAM used').getAttribute('value')).resolves.toBe('1024');
    await row.getByRole('button', { name: 'Disable dash-a' }).click();
    await row.getByLabel('Reason').fill('new disks');
    await row.getByRole('button', { name: 'Disable dash-a' }).click();
    await row.getByText('disabled: new disks').waitFor({ timeout: UI_TIMEOUT });
    const [off] = await tcp.db.sql<{ enabled: boolean; disabled_reason: string | null }[]>`select enabled, disabled_reason from hosts where name = 'dash-a'`;
    expect(off).toEqual({ enabled: false, disabled_reason: 'new disks' });
    await row.getByRole('button', { name: 'Enable dash-a' }).click();
    await row.getByText('enabled', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    const [on] = await tcp.db.sql<{ enabled: boolean }[]>`select enabled from hosts where name = 'dash-a'`;
    expect(on!.enabled).toBe(true);
  });

  it('uploads an image from a file, and lists it once its file is in', async () => {
    await admin.goto(`${tcp.url}/#/images`);
    const form = admin.getByRole('form', { name: 'Upload an image' });
    await form.getByLabel('Name').fill('uploaded-disk');
    await form.getByLabel('Format').selectOption('raw');
    const bytes = Buffer.alloc(3 << 20, 7);
    await form.getByLabel('File').setInputFiles({ name: 'disk.raw', mimeType: 'application/octet-stream', buffer: bytes });
    await form.getByRole('button', { name: 'Upload' }).click();
    await form.getByText('uploaded-disk uploaded').waitFor({ timeout: UI_TIMEOUT });
    const [image] = await tcp.db.sql<{ status: string; size_bytes: number; disk_format: string; visibility: string }[]>`
      select status, size_bytes, disk_format, visibility from images where name = 'uploaded-disk'`;
    expect(image).toEqual({ status: 'active', size_bytes: bytes.length, disk_format: 'raw', visibility: 'private' });
    await admin.getByRole('cell', { name: 'uploaded-disk' }).waitFor({ timeout: UI_TIMEOUT });
  });

  it('runs a query in the GraphQL explorer with the session token, fetching nothing from elsewhere', async () => {
    const elsewhere: string[] = [];
    admin.on('request', (r) => {
      if (!r.url().startsWith(tcp.url) && !r.url().startsWith(tcp.url.replace('http', 'ws'))) elsewhere.push(r.url());
    });
    await admin.goto(`${tcp.url}/#/explorer`);
    // Execute does nothing until the query editor is up: wait for it to show the default query.
    await admin.locator('.graphiql-container .CodeMirror-code').getByText('whoami').first().waitFor({ timeout: UI_TIMEOUT });
    await admin.getByRole('button', { name: /Execute query/ }).click();
    await admin.getByText('"userName": "admin"').waitFor({ timeout: UI_TIMEOUT });
    expect(elsewhere.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:'))).toEqual([]);
    // GraphiQL keeps its tabs in localStorage, but never the headers that hold the token.
    const stored: string[] = await admin.evaluate(() => {
      const ls = (globalThis as BrowserGlobals).localStorage;
      return Array.from({ length: ls.length }, (_, i) => ls.getItem(ls.key(i)));
    });
    expect(stored.some((v) => v.includes(tcp.admin.token))).toBe(false);
    expect(refused).toEqual([]);
  });

  it('resizes an instance from its row, then confirms the resize', async () => {
    await createFlavor(tcp.admin, 'm1.medium', 2, 1024, 2);
    moreHosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'dash-b', driver: { delayMs: DRIVER_DELAY_MS } }]);
    await admin.goto(`${tcp.url}/#/instances`);
    await waitForStatus(admin, 'web-1', 'ACTIVE');
    const row = admin.locator('tr[data-instance="web-1"]');
    await row.getByRole('button', { name: 'Resize web-1' }).click();
    await row.getByLabel('New flavor').fill('m1.medium');
    await row.getByRole('button', { name: 'Resize', exact: true }).click();
    await waitForStatus(admin, 'web-1', 'VERIFY_RESIZE');
    await row.getByRole('button', { name: 'Confirm resize web-1' }).click();
    await waitForStatus(admin, 'web-1', 'ACTIVE');
    const [after] = await tcp.db.sql<{ flavor: string; vm_state: string; host: string }[]>`
      select f.name as flavor, i.vm_state, h.name as host
        from instances i join flavors f on f.id = i.flavor_id join hosts h on h.id = i.host_id where i.id = ${instanceId}`;
    expect(after).toEqual({ flavor: 'm1.medium', vm_state: 'active', host: 'dash-b' });
    await expect(row.locator('td').nth(6).textContent()).resolves.toBe('m1.medium');
  });

  it("evacuates a down host's instances from the hosts page", async () => {
    await tcp.admin.request('mutation { updateHost(ref: "dash-b", input: { forcedDown: true }) { __typename } }');
    await admin.goto(`${tcp.url}/#/hosts`);
    const row = admin.locator('tr[data-host="dash-b"]');
    await row.locator('td.status[data-status="down"]').waitFor({ timeout: UI_TIMEOUT });
    await row.getByRole('button', { name: 'Evacuate' }).click();
    await row.getByText('evacuating 1 instance(s)').waitFor({ timeout: UI_TIMEOUT });
    const moved = await waitFor('web-1 rebuilt on dash-a', async () => (await tcp.db.sql<{ vm_state: string; host: string }[]>`
      select i.vm_state, h.name as host from instances i join hosts h on h.id = i.host_id where i.id = ${instanceId}`)[0],
    (r) => r?.vm_state === 'active' && r.host === 'dash-a', UI_TIMEOUT);
    expect(moved).toEqual({ vm_state: 'active', host: 'dash-a' });
    const [action] = await tcp.db.sql<{ state: string }[]>`select state from instance_actions where instance_id = ${instanceId} and action = 'evacuate'`;
    expect(action!.state).toBe('succeeded');
  });
});
