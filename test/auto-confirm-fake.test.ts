import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  // Nova's resize_confirm_window, short enough to watch.
  tcp = await startTestControlPlane({ config: { resizeConfirmWindowSeconds: 3 } });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'ac-a' }, { name: 'ac-b' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);

describe('auto-confirm window', () => {
  it('confirms a move left in VERIFY_RESIZE once the window has passed, as an action of its own', async () => {
    await tcp.db.sql`update hosts set enabled = false where name = 'ac-b'`;
    const made = await createInstance(tcp.admin, { name: 'patient', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id;
    await waitFor('active', () => row(id), (r) => r?.vm_state === 'active');
    await tcp.db.sql`update hosts set enabled = true where name = 'ac-b'`;
    const d = await tcp.admin.request(`mutation($id: ID!) { migrateInstance(id: $id) { __typename } }`, { id });
    expect(d.migrateInstance.__typename).toBe('MigrateInstanceSuccess');
    await waitFor('VERIFY_RESIZE', () => row(id), (r) => r?.vm_state === 'resized' && r.task_state === null);
    const [{ finished }] = await tcp.db.sql`select updated_at as finished from migrations where instance_id = ${id}`;
    // Still waiting for the user inside the window: both hosts hold it.
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(2);

    const done = await waitFor('auto-confirmed', () => row(id), (r) => r?.vm_state === 'active', 20_000);
    const b = (await tcp.db.sql<{ id: string }[]>`select id from hosts where name = 'ac-b'`)[0]!.id;
    expect(done!.host_id).toBe(b);
    expect(await tcp.db.sql`select host_id from allocations where instance_id = ${id}`).toEqual([{ host_id: b }]);
    const [m] = await tcp.db.sql`select status, updated_at from migrations where instance_id = ${id}`;
    expect(m!.status).toBe('confirmed');
    expect(m!.updated_at.getTime() - finished.getTime()).toBeGreaterThanOrEqual(3000);
    const [a] = await tcp.db.sql`
      select a.state, a.user_id, a.request_id, e.details from instance_actions a join instance_action_events e on e.action_id = a.id
       where a.instance_id = ${id} and a.action = 'confirmResize'`;
    expect(a).toMatchObject({ state: 'succeeded', user_id: null, details: 'confirmed automatically after 3 s in VERIFY_RESIZE' });
    await waitFor('source domain removed', async () => hosts[0]!.driver.domains.has(id), (has) => !has);
  });
});
