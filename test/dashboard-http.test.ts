import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from './support/browser.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

// An operator's override: readers may not even list flavors here.
const overrides = path.join(mkdtempSync(path.join(os.tmpdir(), 'orrery-policy-')), 'policy.yaml');
writeFileSync(overrides, 'flavor:list: role:member\n');

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  ensureDashboardBuilt();
  tcp = await startTestControlPlane({ config: { policyFile: overrides } });
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe('the dashboard over HTTP', () => {
  it('serves its page and hashed assets to anyone, and nothing else without a token', async () => {
    const page = await fetch(`${tcp.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
    const html = await page.text();
    expect(html).toContain('<div id="root"></div>');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${tcp.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${tcp.url}/assets/`)).status).toBe(404);
    const data = await fetch(`${tcp.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ whoami { allowed } }' }) });
    expect((await data.json()) as unknown).toMatchObject({ errors: [{ message: 'missing bearer token' }] });
    // An answer is the caller's own: never stored by a cache on the way.
    const answer = await fetch(`${tcp.url}/graphql`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tcp.admin.token}` },
      body: JSON.stringify({ query: '{ whoami { allowed } }' }) });
    expect(((await answer.json()) as { data: { whoami: { allowed: string[] } } }).data.whoami.allowed).toContain('host:list');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});

describe('whoami.allowed, which the dashboard offers pages and buttons by', () => {
  it('lists the rules each role satisfies under the policy in force, overrides included', async () => {
    const reader = await tcp.userClient('allowed-project', 'allowed-reader', ['reader']);
    const member = await tcp.userClient('allowed-project', 'allowed-member', ['member']);
    const allowed = async (c: typeof reader.client) => (await c.request('{ whoami { allowed } }')).whoami.allowed as string[];
    const r = await allowed(reader.client);
    const m = await allowed(member.client);
    const a = await allowed(tcp.admin);
    expect(r).toEqual(expect.arrayContaining(['instance:list', 'instance:subscribe', 'whoami']));
    expect(r).not.toContain('instance:update');
    expect(r).not.toContain('flavor:list'); // the override
    expect(m).toEqual(expect.arrayContaining(['instance:update', 'instance:create_console', 'flavor:list']));
    expect(m).not.toContain('instance:migrate');
    expect(m).not.toContain('host:list');
    expect(a).toEqual(expect.arrayContaining(['host:list', 'host:update', 'instance:migrate', 'scheduler:explain']));
    expect([...a].sort()).toEqual(a);
  });
});

describe('Instance.zone', () => {
  it("is the zone of the instance's host, as Nova's OS-EXT-AZ:availability_zone", async () => {
    await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
    await seedImage(tcp.db.sql, tcp.adminProjectId);
    hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'zoned-a' }]);
    const z = await tcp.admin.request('mutation { createAvailabilityZone(input: { name: "az-7" }) { __typename } }');
    expect(z.createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    await tcp.db.sql`update hosts set zone_id = (select id from availability_zones where name = 'az-7') where name = 'zoned-a'`;
    const made = await createInstance(tcp.admin, { name: 'zoned', flavor: 'm1.small', image: 'test-image' });
    const zone = async () => (await tcp.admin.request('query($id: ID!) { instance(id: $id) { zone } }', { id: made.instance.id })).instance.zone;
    await waitFor('active', () => instanceRow(tcp.db.sql, made.instance.id), (i) => i?.vm_state === 'active');
    expect(await zone()).toBe('az-7');
    await tcp.db.sql`update hosts set zone_id = null`;
    expect(await zone()).toBeNull();
  });
});
