import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeDuration } from '../hostagent/metrics.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts, type FakeHost } from './support/fake-agents.ts';
import { createFlavor, createInstance, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

const INSTANCES = 8;

let tcp: TestControlPlane;
let hosts: FakeHost[] & { stop(): Promise<void> };
let ids: string[];

/** Converges run by the agents of this file so far. */
async function converges(): Promise<number> {
  const m = await convergeDuration.get();
  return m.values.filter((v) => v.metricName === 'orrery_agent_converge_duration_seconds_count').reduce((s, v) => s + v.value, 0);
}

const rows = () => tcp.db.sql<{ id: string; vm_state: string; power_state: string }[]>`
  select id, vm_state, power_state from instances where id = any(${ids}::uuid[])`;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 's.tiny', 1, 64, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  // A resync would converge everything again, by design: none during the test.
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'settled-1' }], { resyncSeconds: 600 });
  ids = [];
  for (let i = 0; i < INSTANCES; i++) ids.push((await createInstance(tcp.admin, { name: `settled-${i}`, flavor: 's.tiny', image: 'test-image' })).instance.id);
  await waitFor('all ACTIVE and running', rows, (r) => r.length === INSTANCES && r.every((x) => x.vm_state === 'active' && x.power_state === 'running'));
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe("an agent's passes converge only what changed", () => {
  it('stopping one instance converges that one, not every instance on the host again', async () => {
    const before = await converges();
    await updateInstance(tcp.admin, ids[0]!, { powerState: 'stopped' });
    await waitFor('stopped', rows, (r) => r.find((x) => x.id === ids[0])!.power_state === 'shutdown');
    const ran = (await converges()) - before;
    // Each pass used to converge all of them: one pass alone would be INSTANCES.
    expect(ran).toBeGreaterThanOrEqual(1);
    expect(ran).toBeLessThan(INSTANCES / 2);
  });

  it('a settled instance whose domain changes on the host is converged and reported again', async () => {
    hosts[0]!.driver.crash(ids[1]!, 'crashed');
    const r = await waitFor('crash reported', rows, (r) => r.find((x) => x.id === ids[1])!.power_state === 'crashed');
    expect(r.find((x) => x.id === ids[2])!.power_state).toBe('running');
  });
});
