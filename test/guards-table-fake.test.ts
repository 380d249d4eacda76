import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

/**
 * Every operation against every state Nova refuses it from (nova/compute/api.py's
 * check_instance_state), through the API: a ConflictError naming the state, and nothing written —
 * no action, no claim, no change of state. The allowed states are written out here as the spec,
 * independently of the table the code uses.
 */
const NOVA_ALLOWS: Record<string, string[]> = {
  'reboot-soft': ['active'],
  'reboot-hard': ['active', 'stopped', 'paused', 'suspended', 'error'],
  rebuild: ['active', 'stopped', 'error'],
  snapshot: ['active', 'stopped', 'paused', 'suspended'],
  shelve: ['active', 'stopped', 'paused', 'suspended'],
  unshelve: ['shelved_offloaded'],
  migrate: ['active', 'stopped'],
  'live-migrate': ['active', 'paused'],
  resize: ['active', 'stopped'],
  'confirm-resize': ['resized'],
  'revert-resize': ['resized'],
  rescue: ['active', 'stopped', 'error'],
  unrescue: ['rescued'],
  stop: ['active'],
  pause: ['active'],
  suspend: ['active'],
  start: ['stopped', 'paused', 'suspended'],
};

const STATES = ['active', 'stopped', 'paused', 'suspended', 'rescued', 'shelved_offloaded', 'resized', 'error'] as const;
type State = (typeof STATES)[number];

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
const instances = new Map<State, string>();

const row = (id: string) => instanceRow(tcp.db.sql, id);
const op = async (mutation: string, id: string, args = '') =>
  (await tcp.admin.request(`mutation($id: ID!) { r: ${mutation}(id: $id${args}) { __typename ... on Error { message } } }`, { id })).r;
const update = (input: Record<string, unknown>) => async (id: string) => updateInstance(tcp.admin, id, input);

const REQUESTS: Record<string, (id: string) => Promise<{ __typename: string; message?: string }>> = {
  'reboot-soft': (id) => op('rebootInstance', id),
  'reboot-hard': (id) => op('rebootInstance', id, ', hard: true'),
  rebuild: update({ image: 'image-b' }),
  snapshot: (id) => op('snapshotInstance', id, ', name: "guard-snap"'),
  shelve: (id) => op('shelveInstance', id),
  unshelve: (id) => op('unshelveInstance', id),
  migrate: (id) => op('migrateInstance', id),
  'live-migrate': (id) => op('liveMigrateInstance', id),
  resize: update({ flavor: 'm1.medium' }),
  'confirm-resize': (id) => op('confirmResize', id),
  'revert-resize': (id) => op('revertResize', id),
  rescue: (id) => op('rescueInstance', id),
  unrescue: (id) => op('unrescueInstance', id),
  stop: update({ powerState: 'stopped' }),
  pause: update({ powerState: 'paused' }),
  suspend: update({ powerState: 'suspended' }),
  start: update({ powerState: 'running' }),
};

/**
 * The power change each state already wants (every state but the three settled off ones keeps the
 * guest running): asking for it again is no change at all, not a refusal — the spec is declarative.
 */
const SAME_POWER: Record<State, string> = {
  active: 'start', stopped: 'stop', paused: 'pause', suspended: 'suspend',
  rescued: 'start', shelved_offloaded: 'start', resized: 'start', error: 'start',
};

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'm1.medium', 2, 1024, 2);
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-a');
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-b');
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'guard-a' }, { name: 'guard-b' }]);
  const settle = (id: string, vm: string) => waitFor(`${vm}`, () => row(id), (r) => r?.vm_state === vm && r.task_state === null);
  await Promise.all(STATES.map(async (state) => {
    const made = await createInstance(tcp.admin, { name: `guard-${state}`, flavor: 'm1.small', image: 'image-a' });
    const id = made.instance.id;
    instances.set(state, id);
    await settle(id, 'active');
    if (state === 'stopped' || state === 'paused' || state === 'suspended') {
      await updateInstance(tcp.admin, id, { powerState: state });
    } else if (state === 'rescued') {
      await op('rescueInstance', id);
    } else if (state === 'shelved_offloaded') {
      await op('shelveInstance', id);
    } else if (state === 'resized') {
      await op('migrateInstance', id);
    } else if (state === 'error') {
      // An ERROR left by a failed operation; how it got there does not matter to the guards.
      await tcp.db.sql`update instances set vm_state = 'error' where id = ${id}`;
    }
    await settle(id, state);
  }));
}, 120_000);

afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const refused = Object.keys(REQUESTS).flatMap((operation) =>
  STATES.filter((s) => !NOVA_ALLOWS[operation]!.includes(s) && SAME_POWER[s] !== operation).map((state) => ({ operation, state })));

describe("Nova's state guards, through the API", () => {
  it('covers every operation and state', () => {
    expect(Object.keys(REQUESTS).sort()).toEqual(Object.keys(NOVA_ALLOWS).sort());
    expect(refused.length).toBeGreaterThan(80);
  });

  it.each(refused)('refuses $operation from $state, writing nothing', async ({ operation, state }) => {
    const id = instances.get(state)!;
    const before = await snapshot(id);
    const r = await REQUESTS[operation]!(id);
    expect(r.__typename).toBe('ConflictError');
    expect(r.message).toMatch(new RegExp(`vm_state ${state}|task|not on any host`));
    expect(await snapshot(id)).toEqual(before);
  });

  it.each(STATES)('asking %s for the power state it already wants changes nothing', async (state) => {
    const id = instances.get(state)!;
    const before = await snapshot(id);
    expect((await REQUESTS[SAME_POWER[state]]!(id)).__typename).toBe('UpdateInstanceSuccess');
    expect(await snapshot(id)).toEqual(before);
  });
});

async function snapshot(id: string) {
  return {
    row: await row(id),
    actions: (await tcp.db.sql`select count(*)::int as n from instance_actions where instance_id = ${id}`)[0]!.n,
    allocations: await tcp.db.sql`select host_id, vcpus, memory_mb from allocations where instance_id = ${id} order by host_id`,
    migrations: (await tcp.db.sql`select count(*)::int as n from migrations where instance_id = ${id}`)[0]!.n,
    images: (await tcp.db.sql`select count(*)::int as n from images`)[0]!.n,
  };
}
