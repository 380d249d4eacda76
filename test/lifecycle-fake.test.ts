import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, deleteInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  tcp = await startTestControlPlane({ config: { maxScheduleAttempts: 3 } });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [
    { name: 'life-1', driver: { failCreate: /^doomed|^flaky/ } },
    { name: 'life-2', driver: { failCreate: /^doomed/ } },
    { name: 'life-3', driver: { failCreate: /^doomed/ } },
  ]);
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const row = (id: string) => instanceRow(tcp.db.sql, id);
const settled = (id: string, vm: string) => waitFor(`vm_state ${vm}`, () => row(id), (r) => r?.vm_state === vm && r.task_state === null);
const driverOf = async (id: string) => {
  const r = await row(id);
  const [h] = await tcp.db.sql<{ name: string }[]>`select name from hosts where id = ${r!.host_id}`;
  return hosts.find((x) => x.name === h!.name)!.driver;
};

async function activeInstance(name: string): Promise<string> {
  const made = await createInstance(tcp.admin, { name, flavor: 'm1.small', image: 'test-image' });
  expect(made.__typename).toBe('CreateInstanceSuccess');
  await settled(made.instance.id, 'active');
  return made.instance.id;
}

describe('instance lifecycle on the fake driver', () => {
  it('reports the build through a subscription until ACTIVE', async () => {
    const made = await createInstance(tcp.admin, { name: 'watched', flavor: 'm1.small', image: 'test-image' });
    const events = tcp.admin.subscribe(
      `subscription($id: ID!) { instanceUpdated(id: $id) { type instance { status taskState powerState } } }`,
      { id: made.instance.id },
    );
    const seen: string[] = [];
    for await (const e of events) {
      const i = e.instanceUpdated.instance;
      seen.push(`${e.instanceUpdated.type}:${i.status}/${i.taskState ?? '-'}`);
      if (i.status === 'ACTIVE') break;
    }
    await events.return?.();
    expect(seen[0]).toMatch(/^SNAPSHOT:BUILD/);
    expect(seen.at(-1)).toBe('UPDATED:ACTIVE/-');
    const r = await row(made.instance.id);
    expect((await driverOf(made.instance.id)).domains.get(made.instance.id)?.powerState).toBe('running');
    const allocs = await tcp.db.sql`select host_id from allocations where instance_id = ${made.instance.id}`;
    expect(allocs.map((a) => a.host_id)).toEqual([r!.host_id]);
  });

  it('stops, starts, pauses, unpauses, suspends and resumes, as the hypervisor shows', async () => {
    const id = await activeInstance('cycler');
    const driver = await driverOf(id);
    const steps: [string, string, string][] = [
      ['stopped', 'stopped', 'shutdown'],
      ['running', 'active', 'running'],
      ['paused', 'paused', 'paused'],
      ['running', 'active', 'running'],
      ['suspended', 'suspended', 'suspended'],
      ['running', 'active', 'running'],
    ];
    for (const [want, vm, power] of steps) {
      const u = await updateInstance(tcp.admin, id, { powerState: want });
      expect(u.__typename).toBe('UpdateInstanceSuccess');
      const r = await settled(id, vm);
      expect(r!.power_state).toBe(power);
      expect(driver.domains.get(id)!.powerState).toBe(power);
    }
    const actions = await tcp.db.sql<{ action: string; state: string }[]>`
      select action, state from instance_actions where instance_id = ${id} order by started_at`;
    expect(actions.map((a) => `${a.action}:${a.state}`)).toEqual([
      'create:succeeded', 'stop:succeeded', 'start:succeeded', 'pause:succeeded',
      'unpause:succeeded', 'suspend:succeeded', 'resume:succeeded',
    ]);
  });

  it('refuses a power change Nova would refuse, naming the state, and writes nothing', async () => {
    const id = await activeInstance('guarded');
    expect((await updateInstance(tcp.admin, id, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await settled(id, 'stopped');
    const before = await row(id);
    const u = await updateInstance(tcp.admin, id, { powerState: 'paused' });
    expect(u.__typename).toBe('ConflictError');
    expect(u.currentState).toBe('vm_state=stopped, task_state=none');
    expect(u.message).toMatch(/cannot pause .* \(allowed from active\)/);
    expect(await row(id)).toEqual(before);
  });

  it('records a guest that shut down behind its back as STOPPED and does not restart it', async () => {
    const id = await activeInstance('drifter');
    const driver = await driverOf(id);
    driver.crash(id, 'shutdown');
    const r = await settled(id, 'stopped');
    expect([r!.power_state, r!.desired_power_state]).toEqual(['shutdown', 'stopped']);
    await new Promise((res) => setTimeout(res, 300));
    expect(driver.domains.get(id)!.powerState).toBe('shutdown');
    const [ev] = await tcp.db.sql<{ details: string }[]>`
      select e.details from instance_action_events e join instance_actions a on a.id = e.action_id
       where a.instance_id = ${id} and e.event = 'power-sync'`;
    expect(ev!.details).toMatch(/found shutdown/);
  });

  it('leaves an ERROR instance in ERROR whatever its guest does, as Nova\'s power sync does; a hard reboot ends it', async () => {
    const id = await activeInstance('errant');
    // As a failed operation leaves it: ERROR with a fault, the guest still there.
    await tcp.db.sql`update instances set vm_state = 'error', fault = ${tcp.db.sql.json({ code: 'OperationFailed', message: 'it broke' })}
                      where id = ${id}`;
    const driver = await driverOf(id);
    driver.crash(id, 'shutdown');
    await waitFor('the shutdown reported', () => row(id), (r) => r?.power_state === 'shutdown');
    // The report woke the reconciler: wait until its job has run.
    await waitFor('the reconcile run', async () =>
      (await tcp.db.sql`select 1 from graphile_worker._private_jobs where key = ${'instance:' + id}`).length, (n) => n === 0);
    expect(await row(id)).toMatchObject({ vm_state: 'error', power_state: 'shutdown', desired_power_state: 'running', task_state: null });
    const [sync] = await tcp.db.sql`select 1 from instance_actions where instance_id = ${id} and action = 'power-sync'`;
    expect(sync).toBeUndefined();

    const r = await tcp.admin.request(`mutation($id: ID!) { r: rebootInstance(id: $id, hard: true) { __typename } }`, { id });
    expect(r.r.__typename).toBe('RebootInstanceSuccess');
    expect(await settled(id, 'active')).toMatchObject({ power_state: 'running', desired_power_state: 'running' });
    expect(driver.domains.get(id)!.powerState).toBe('running');
  });

  it('reschedules a failed build to another host', async () => {
    // The RAM weigher sends the first attempt to the failing host, so the retry path is exercised deterministically.
    const [bad] = await tcp.db.sql<{ id: string }[]>`select id from hosts where name = 'life-1'`;
    await tcp.db.sql`update hosts set memory_mb = memory_mb * 4 where id = ${bad!.id}`;
    const made = await createInstance(tcp.admin, { name: 'flaky-1', flavor: 'm1.small', image: 'test-image' });
    const id = made.instance.id;
    const r = await waitFor('active', () => row(id), (x) => x?.vm_state === 'active');
    await tcp.db.sql`update hosts set memory_mb = memory_mb / 4 where id = ${bad!.id}`;
    const [inst] = await tcp.db.sql<{ failed: string[]; attempts: number }[]>`
      select failed_host_ids as failed, schedule_attempts as attempts from instances where id = ${id}`;
    expect(r!.host_id).not.toBe(bad!.id);
    expect(inst!.failed).toEqual([bad!.id]);
    expect(inst!.attempts).toBe(2);
    const allocs = await tcp.db.sql`select host_id from allocations where instance_id = ${id}`;
    expect(allocs.map((a) => a.host_id)).toEqual([r!.host_id]);
  });

  it('sends a failed unshelve back to placement, which ends it (no host left: shelved, with a fault) instead of leaving it scheduling', async () => {
    const [bad] = await tcp.db.sql<{ id: string }[]>`select id from hosts where name = 'life-1'`;
    await tcp.db.sql`update hosts set enabled = false where id = ${bad!.id}`;
    const id = await activeInstance('flaky-shelf');
    const shelve = await tcp.admin.request(`mutation($id: ID!) { shelveInstance(id: $id) { __typename ... on Error { message } } }`, { id });
    expect(shelve.shelveInstance.__typename).toBe('ShelveInstanceSuccess');
    await settled(id, 'shelved_offloaded');
    // Only life-1 takes it, and its driver refuses flaky-*: the retry finds no other host.
    await tcp.db.sql`update hosts set enabled = (id = ${bad!.id}) where name like 'life-%'`;
    try {
      const u = await tcp.admin.request(`mutation($id: ID!) { unshelveInstance(id: $id) { __typename ... on Error { message } } }`, { id });
      expect(u.unshelveInstance.__typename).toBe('UnshelveInstanceSuccess');
      const [a] = await waitFor('the unshelve ended', () => tcp.db.sql<{ state: string; events: string[] }[]>`
        select a.state, array(select e.event || ':' || e.result || '@' || coalesce(e.host_name, '-')
                                from instance_action_events e where e.action_id = a.id order by e.id) as events
          from instance_actions a where a.instance_id = ${id} and a.action = 'unshelve'`,
      (rows) => rows[0]?.state === 'failed' || rows[0]?.state === 'succeeded');
      expect(a!.state).toBe('failed');
      expect(a!.events).toContain('spawn:error@life-1');
      expect(await row(id)).toMatchObject({ vm_state: 'shelved_offloaded', task_state: null, host_id: null, fault: { code: 'NoValidHost' } });
      expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    } finally {
      await tcp.db.sql`update hosts set enabled = true where name like 'life-%'`;
    }
  });

  it('gives up after three failed builds with a fault that says why', async () => {
    const made = await createInstance(tcp.admin, { name: 'doomed-1', flavor: 'm1.small', image: 'test-image' });
    const r = await waitFor('error', () => row(made.instance.id), (x) => x?.vm_state === 'error');
    expect(r!.fault!.code).toBe('BuildFailed');
    expect(r!.fault!.message).toMatch(/build failed on 3 host\(s\); last: fake driver refuses to build doomed-1/);
    expect(r!.host_id).toBeNull();
    const allocs = await tcp.db.sql`select 1 from allocations where instance_id = ${made.instance.id}`;
    expect(allocs.length).toBe(0);
  });

  it('deletes: the domain goes, allocations are released, the row disappears', async () => {
    const id = await activeInstance('short-lived');
    const driver = await driverOf(id);
    expect((await deleteInstance(tcp.admin, id)).__typename).toBe('DeleteInstanceSuccess');
    await waitFor('row gone', () => row(id), (r) => r === undefined);
    expect(driver.domains.has(id)).toBe(false);
    expect((await tcp.db.sql`select 1 from allocations where instance_id = ${id}`).length).toBe(0);
    const [a] = await tcp.db.sql<{ state: string }[]>`
      select state from instance_actions where instance_id = ${id} and action = 'delete'`;
    expect(a!.state).toBe('succeeded');
  });

  it('deletes locally when the host is down, and the agent removes the orphan when it returns', async () => {
    const id = await activeInstance('stranded');
    const driver = await driverOf(id);
    const r = await row(id);
    await tcp.db.sql`update hosts set forced_down = true where id = ${r!.host_id}`;
    expect((await deleteInstance(tcp.admin, id)).__typename).toBe('DeleteInstanceSuccess');
    await waitFor('row gone', () => row(id), (x) => x === undefined);
    await tcp.db.sql`update hosts set forced_down = false where id = ${r!.host_id}`;
    await waitFor('orphan removed', async () => driver.domains.has(id), (has) => !has);
  });
});
