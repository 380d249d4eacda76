import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLog } from '../core/log.ts';
import { HostAgent } from '../hostagent/agent.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';
import { startWorkers } from './support/workers.ts';

/**
 * Crash safety: while a multi-step operation runs, the worker is killed and replaced at every step
 * boundary we can see (each change of the instance's state), and the agent of the host involved
 * is restarted at every other one. The hypervisor (the fake driver's domains) survives agent
 * restarts, as libvirt does. Whatever the interleaving, the instance must converge with
 * allocations exactly where it runs and no domain left anywhere else.
 */

interface Host {
  name: string;
  driver: FakeDriver;
  stateDir: string;
  agent: HostAgent;
}

let tcp: TestControlPlane;
let token: string;
let workers: { stop(): Promise<void> } | null = null;
const hosts: Host[] = [];

async function startAgent(h: Omit<Host, 'agent'>): Promise<HostAgent> {
  const agent = new HostAgent({
    apiUrl: tcp.url, name: h.name, driver: h.driver, log: rootLog(), stateDir: h.stateDir,
    enrollmentToken: token, heartbeatSeconds: 1, resyncSeconds: 2,
  });
  await agent.start();
  return agent;
}

async function restartWorker(): Promise<void> {
  await workers?.stop();
  workers = await startWorkers(tcp.db.url, 1, 5, { allowResizeToSameHost: true });
}

async function restartAgentOf(hostId: string | null): Promise<void> {
  const [h] = hostId ? await tcp.db.sql<{ name: string }[]>`select name from hosts where id = ${hostId}` : [];
  const host = hosts.find((x) => x.name === h?.name);
  if (!host) return;
  await host.agent.stop();
  host.agent = await startAgent(host);
}

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await restartWorker();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'm1.medium', 2, 1024, 2);
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-a');
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-b');
  token = await enrollmentToken(tcp.admin);
  for (const name of ['crash-a', 'crash-b']) {
    const h = { name, driver: new FakeDriver({ delayMs: 100 }), stateDir: path.join(os.tmpdir(), `orrery-crash-${process.pid}-${name}`) };
    hosts.push({ ...h, agent: await startAgent(h) });
  }
});

afterAll(async () => {
  for (const h of hosts) await h.agent.stop();
  await workers?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);

/** Runs until `done` holds, crashing the worker at each visible step and an agent at every other. */
async function withCrashes(
  id: string,
  done: (r: Awaited<ReturnType<typeof row>>) => boolean | Promise<boolean>,
): Promise<number> {
  const deadline = Date.now() + 45_000;
  let last = '';
  let crashes = 0;
  for (;;) {
    const r = await row(id);
    if (await done(r)) return crashes;
    if (Date.now() > deadline) throw new Error(`did not converge; last ${JSON.stringify(r)}`);
    const key = JSON.stringify([r?.vm_state, r?.task_state, r?.host_id, r?.observed_generation, r?.power_state]);
    if (key !== last) {
      last = key;
      crashes++;
      await restartWorker();
      if (crashes % 2 === 0) await restartAgentOf(r?.host_id ?? null);
    }
    await new Promise((res) => setTimeout(res, 40));
  }
}

async function expectSettledOn(id: string, vm: string) {
  const r = await row(id);
  expect([r!.vm_state, r!.task_state]).toEqual([vm, null]);
  const allocs = await tcp.db.sql<{ host_id: string }[]>`select host_id from allocations where instance_id = ${id}`;
  expect(allocs.map((a) => a.host_id)).toEqual([r!.host_id]);
  const [h] = await tcp.db.sql<{ name: string }[]>`select name from hosts where id = ${r!.host_id}`;
  // Fences and orphans are processed by the agents on their next pass.
  await waitFor('domains only where the instance runs', async () =>
    hosts.filter((x) => x.driver.domains.has(id)).map((x) => x.name), (names) => names.join() === h!.name, 20_000);
  return r!;
}

async function activeOn(name: string): Promise<string> {
  const made = await createInstance(tcp.admin, { name, flavor: 'm1.small', image: 'image-a' });
  await waitFor('active', () => row(made.instance.id), (r) => r?.vm_state === 'active' && r.task_state === null);
  return made.instance.id;
}

describe('operations survive worker and agent crashes at every step', () => {
  it('create', async () => {
    const made = await createInstance(tcp.admin, { name: 'crash-create', flavor: 'm1.small', image: 'image-a' });
    const crashes = await withCrashes(made.instance.id, (r) => r?.vm_state === 'active' && r.task_state === null);
    expect(crashes).toBeGreaterThanOrEqual(1);
    await expectSettledOn(made.instance.id, 'active');
  });

  it('cold migration, then confirm', async () => {
    const id = await activeOn('crash-migrate');
    await tcp.admin.request(`mutation($id: ID!) { migrateInstance(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.vm_state === 'resized' && r.task_state === null);
    await tcp.admin.request(`mutation($id: ID!) { confirmResize(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.vm_state === 'active' && r.task_state === null);
    await expectSettledOn(id, 'active');
  });

  it('live migration', async () => {
    const id = await activeOn('crash-live');
    const home = (await row(id))!.host_id;
    await tcp.admin.request(`mutation($id: ID!) { liveMigrateInstance(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.host_id !== home && r?.vm_state === 'active' && r.task_state === null);
    const r = await expectSettledOn(id, 'active');
    expect(hosts.find((h) => h.driver.domains.has(id))!.driver.domains.get(id)!.powerState).toBe('running');
    expect(await tcp.db.sql`select status, dest_host_id from migrations where instance_id = ${id}`).toEqual([{ status: 'completed', dest_host_id: r.host_id }]);
  });

  it('resize, then revert', async () => {
    const id = await activeOn('crash-resize');
    const home = (await row(id))!.host_id;
    await updateInstance(tcp.admin, id, { flavor: 'm1.medium' });
    await withCrashes(id, (r) => r?.vm_state === 'resized' && r.task_state === null);
    await tcp.admin.request(`mutation($id: ID!) { revertResize(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.vm_state === 'active' && r.task_state === null);
    const r = await expectSettledOn(id, 'active');
    expect(r.host_id).toBe(home);
  });

  it('same-host resize, then revert, then resize again and confirm', async () => {
    const id = await activeOn('crash-in-place');
    const home = (await row(id))!.host_id;
    await tcp.db.sql`update hosts set enabled = false where id <> ${home}`;
    try {
      await updateInstance(tcp.admin, id, { flavor: 'm1.medium' });
      await withCrashes(id, (r) => r?.vm_state === 'resized' && r.task_state === null);
      expect((await row(id))!.host_id).toBe(home);
      await tcp.admin.request(`mutation($id: ID!) { revertResize(id: $id) { __typename } }`, { id });
      await withCrashes(id, (r) => r?.vm_state === 'active' && r.task_state === null);
      expect(await tcp.db.sql`select memory_mb from allocations where instance_id = ${id}`).toEqual([{ memory_mb: 512 }]);
      await updateInstance(tcp.admin, id, { flavor: 'm1.medium' });
      await withCrashes(id, (r) => r?.vm_state === 'resized' && r.task_state === null);
      await tcp.admin.request(`mutation($id: ID!) { confirmResize(id: $id) { __typename } }`, { id });
      await withCrashes(id, (r) => r?.vm_state === 'active' && r.task_state === null);
    } finally {
      await tcp.db.sql`update hosts set enabled = true`;
    }
    const r = await expectSettledOn(id, 'active');
    expect(r.host_id).toBe(home);
    expect(await tcp.db.sql`select memory_mb from allocations where instance_id = ${id}`).toEqual([{ memory_mb: 1024 }]);
  });

    it('shelve, then unshelve', async () => {
    const id = await activeOn('crash-shelve');
    await tcp.admin.request(`mutation($id: ID!) { shelveInstance(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.vm_state === 'shelved_offloaded' && r.task_state === null);
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id) { __typename } }`, { id });
    await withCrashes(id, (r) => r?.vm_state === 'active' && r.task_state === null);
    await expectSettledOn(id, 'active');
  });

  it('rebuild', async () => {
    const id = await activeOn('crash-rebuild');
    await updateInstance(tcp.admin, id, { image: 'image-b' });
    const rebuilt = async () =>
      (await tcp.db.sql<{ state: string }[]>`select state from instance_actions where instance_id = ${id} and action = 'rebuild'`)[0]
        ?.state === 'succeeded';
    await withCrashes(id, async (r) => r?.task_state === null && (await rebuilt()));
    await expectSettledOn(id, 'active');
    const [b] = await tcp.db.sql<{ id: string }[]>`select id from images where name = 'image-b'`;
    const host = hosts.find((h) => h.driver.domains.has(id))!;
    expect(host.driver.domains.get(id)!.imageId).toBe(b!.id);
  });
});
