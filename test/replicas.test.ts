import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrreryClient } from '../client/graphql.ts';
import { loadConfig } from '../core/config.ts';
import { sweep } from '../reconciler/sweep.ts';
import { startControlPlane, type ControlPlane } from '../server/control-plane.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';
import { startFakeHosts } from './support/fake-agents.ts';

let tcp: TestControlPlane;
let secondApi: ControlPlane;
let viaSecond: OrreryClient;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  secondApi = await startControlPlane({ config: loadConfig({ port: 0 }), databaseUrl: tcp.db.url, api: true, worker: false });
  viaSecond = new OrreryClient(secondApi.url!, tcp.admin.token);
  await createFlavor(tcp.admin, 'm1.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'rep-1' }]);
});
afterAll(async () => {
  await hosts?.stop();
  await viaSecond?.close();
  await secondApi?.stop();
  await tcp?.stop();
});

describe('several API processes on one database', () => {
  it('pushes a change written through one API to a subscriber of another', async () => {
    const made = await createInstance(tcp.admin, { name: 'shared', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active');
    const events = viaSecond.subscribe(`subscription { instanceEvents { type instanceId instance { status } } }`);
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const e of events) {
        seen.push(e.instanceEvents.instance?.status ?? e.instanceEvents.type);
        if (e.instanceEvents.instance?.status === 'SHUTOFF') return;
      }
    })();
    // Give the subscription a moment to be registered before the write it must hear.
    await new Promise((r) => setTimeout(r, 300));
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await collecting;
    await events.return?.();
    expect(seen.at(-1)).toBe('SHUTOFF');
    expect((await instanceRow(tcp.db.sql, id))!.vm_state).toBe('stopped');
  });
});

describe('the sweep', () => {
  it('expires a host whose heartbeat lease ran out and brings it back when it beats again', async () => {
    const [h] = await tcp.db.sql<{ id: string }[]>`
      insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at)
      values ('silent', 4, 4096, 40, now() - interval '5 minutes') returning id`;
    const first = await sweep(tcp.db.sql, 60);
    expect(first.hostsMarkedDown).toContain('silent');
    const [down] = await tcp.db.sql<{ down_since: Date | null }[]>`select down_since from hosts where id = ${h!.id}`;
    expect(down!.down_since).not.toBeNull();
    const listed = await tcp.admin.request(`{ hosts(filter: {state: down}) { edges { node { name state } } } }`);
    expect(listed.hosts.edges.map((e: { node: { name: string } }) => e.node.name)).toContain('silent');
    await tcp.db.sql`update hosts set last_heartbeat_at = now() where id = ${h!.id}`;
    const second = await sweep(tcp.db.sql, 60);
    expect(second.hostsBackUp).toContain('silent');
  });

  it('re-enqueues an instance whose in-flight work went stale', async () => {
    const made = await createInstance(tcp.admin, { name: 'stale', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active');
    // As if a worker died mid-step and its job was lost: a task state with no job behind it.
    await tcp.db.sql`update instances set task_state = 'powering-off', updated_at = now() - interval '10 minutes' where id = ${id}`;
    await tcp.db.sql`delete from graphile_worker._private_jobs where key = ${'instance:' + id}`;
    const r = await sweep(tcp.db.sql, 60);
    expect(r.requeued).toBeGreaterThanOrEqual(1);
    await waitFor('task cleared', () => instanceRow(tcp.db.sql, id), (x) => x?.task_state === null && x.vm_state === 'active');
  });

  it('re-enqueues an instance whose queued operation lost its job (no task state to show it)', async () => {
    const made = await createInstance(tcp.admin, { name: 'queued', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id;
    await waitFor('active', () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === 'active');
    // As if the worker holding its job was killed: a reboot queued a while ago, and no job behind it.
    const [op] = await tcp.db.sql<{ id: string }[]>`
      insert into instance_actions (instance_id, project_id, action, request_id, state, started_at)
      values (${id}, ${tcp.adminProjectId}, 'reboot', 'lost-job', 'pending', now() - interval '10 minutes') returning id`;
    await tcp.db.sql`delete from graphile_worker._private_jobs where key = ${'instance:' + id}`;
    const r = await sweep(tcp.db.sql, 60);
    expect(r.requeued).toBeGreaterThanOrEqual(1);
    await waitFor('reboot done', async () => (await tcp.db.sql<{ state: string }[]>`select state from instance_actions where id = ${op!.id}`)[0]!.state,
      (s) => s === 'succeeded');
  });
});
