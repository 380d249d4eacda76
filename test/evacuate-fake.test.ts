import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'evac-a' }, { name: 'evac-b' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);
const hostRow = async (name: string) =>
  (await tcp.db.sql<{ id: string; epoch: number }[]>`select id, epoch from hosts where name = ${name}`)[0]!;
const evacuate = async (id: string) =>
  (await tcp.admin.request(
    `mutation($id: ID!) { evacuateInstance(id: $id) { __typename ... on ConflictError { message } ... on Error { message } } }`,
    { id },
  )).evacuateInstance;

describe('evacuation', () => {
  it('refuses while the host is up', async () => {
    const made = await createInstance(tcp.admin, { name: 'stay', flavor: 'm1.small', image: 'test-image' });
    await waitFor('active', () => row(made.instance.id), (r) => r?.vm_state === 'active');
    const r = await evacuate(made.instance.id);
    expect(r.__typename).toBe('ConflictError');
    expect(r.message).toMatch(/is up; evacuate only moves instances off a host that is down/);
  });

  it('rebuilds on another host when the host is down, and fences the old host', async () => {
    const a = await hostRow('evac-a');
    // Make the instance land on evac-a: take evac-b out of placement for the build.
    await tcp.db.sql`update hosts set enabled = false where name = 'evac-b'`;
    const made = await createInstance(tcp.admin, { name: 'refugee', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id as string;
    await waitFor('active on a', () => row(id), (r) => r?.vm_state === 'active' && r.host_id === a.id);
    await tcp.db.sql`update hosts set enabled = true where name = 'evac-b'`;
    // The old host keeps whatever it finds; fencing must override that.
    await tcp.admin.request(`mutation { updateHost(ref: "evac-a", input: {forcedDown: true, orphanPolicy: "keep"}) { __typename } }`);

    expect((await evacuate(id)).__typename).toBe('EvacuateInstanceSuccess');
    const b = await hostRow('evac-b');
    const moved = await waitFor('active on b', () => row(id), (r) => r?.vm_state === 'active' && r.host_id === b.id);
    expect(moved!.power_state).toBe('running');
    const allocs = await tcp.db.sql<{ host_id: string }[]>`select host_id from allocations where instance_id = ${id}`;
    expect(allocs.map((x) => x.host_id)).toEqual([b.id]);
    expect((await hostRow('evac-a')).epoch).toBe(a.epoch + 1);
    expect(hosts[1]!.driver.domains.get(id)?.powerState).toBe('running');

    await tcp.admin.request(`mutation { updateHost(ref: "evac-a", input: {forcedDown: false}) { __typename } }`);
    await waitFor('stale domain destroyed on a', async () => hosts[0]!.driver.domains.has(id), (has) => !has);
    await waitFor('fence lifted', async () => (await tcp.db.sql`select 1 from host_fences where instance_id = ${id}`).length, (n) => n === 0);
    const [action] = await tcp.db.sql<{ state: string }[]>`select state from instance_actions where instance_id = ${id} and action = 'evacuate'`;
    expect(action!.state).toBe('succeeded');
  });
});
