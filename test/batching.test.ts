import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentApi } from '../hostagent/api.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { Batcher } from '../core/batcher.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { seedImage } from './support/fixtures.ts';

const HOSTS = 40;
const PER_HOST = 5;

let tcp: TestControlPlane;
let agents: AgentApi[] = [];
/** Instance ids bound to each host, by the host's index. */
let bound: string[][] = [];

beforeAll(async () => {
  // No worker: the reconciles the reports enqueue stay in the queue, where the test can see them.
  tcp = await startTestControlPlane({ worker: false });
  const token = await enrollmentToken(tcp.admin);
  const info = await new FakeDriver().hostInfo();
  agents = await Promise.all(
    Array.from({ length: HOSTS }, async (_, i) => {
      const api = new AgentApi(tcp.url, token);
      await api.enroll(`batch-${i}`, info);
      return api;
    }),
  );
  const imageId = await seedImage(tcp.db.sql, tcp.adminProjectId);
  const [flavor] = await tcp.db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('b.tiny', 1, 64, 1) returning id`;
  const [admin] = await tcp.db.sql<{ id: string }[]>`select id from users where name = 'admin'`;
  bound = [];
  for (let i = 0; i < HOSTS; i++) {
    const rows = await tcp.db.sql<{ id: string }[]>`
      insert into instances (project_id, user_id, name, flavor_id, image_id, host_id, task_state)
      select ${tcp.adminProjectId}, ${admin!.id}, 'b-' || ${i} || '-' || g, ${flavor!.id}, ${imageId},
             (select id from hosts where name = ${'batch-' + i}), 'spawning'
        from generate_series(1, ${PER_HOST}) g returning id`;
    bound.push(rows.map((r) => r.id));
  }
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await tcp?.stop();
});

describe('the batcher', () => {
  it('gives each caller its own answer and groups a burst into few flushes', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>(async (xs) => (flushes.push(xs), xs.map((x) => x * 2)), { lingerMs: 5, maxBatch: 64, maxInFlight: 1 });
    const out = await Promise.all(Array.from({ length: 200 }, (_, i) => b.add(i)));
    expect(out).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    expect(flushes.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(flushes.length).toBeLessThanOrEqual(4);
  });

  it('never answers an item with a flush that began before it was added', async () => {
    const flushes: { items: number[]; done(): void }[] = [];
    const b = new Batcher<number, number>(
      // Each flush answers with its own number.
      (xs) => new Promise((resolve) => { const n = flushes.length; flushes.push({ items: xs, done: () => resolve(xs.map(() => n)) }); }),
      { lingerMs: 1, maxBatch: 10, maxInFlight: 2 },
    );
    const first = b.add(1);
    while (flushes.length === 0) await new Promise((r) => setTimeout(r, 1));
    // The same item again while the first flush is under way: the next flush's.
    const again = b.add(1);
    while (flushes.length === 1) await new Promise((r) => setTimeout(r, 1));
    flushes[0]!.done();
    flushes[1]!.done();
    expect(flushes.map((f) => f.items)).toEqual([[1], [1]]);
    expect(await Promise.all([first, again])).toEqual([0, 1]);
  });

  it('fails only the callers of the flush that failed', async () => {
    let calls = 0;
    const b = new Batcher<number, number>(async (xs) => {
      if (calls++ === 0) throw new Error('first flush fails');
      return xs;
    }, { lingerMs: 1, maxBatch: 10, maxInFlight: 1 });
    const first = b.add(1);
    await expect(first).rejects.toThrow('first flush fails');
    await expect(b.add(2)).resolves.toBe(2);
  });
});

describe('agent heartbeats and reports under a burst', () => {
  it('renews every lease of a burst of heartbeats', async () => {
    const since = new Date();
    const answers = await Promise.all(agents.flatMap((a) => [a.heartbeat(), a.heartbeat()]));
    expect(answers.every((h) => h.enabled && h.epoch >= 0)).toBe(true);
    const [r] = await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from hosts where last_heartbeat_at >= ${since}`;
    expect(r!.n).toBe(HOSTS);
  });

  it('lands every report of a burst exactly, rejects the foreign one, and wakes each changed instance', async () => {
    const foreign = bound[1]![0]!;
    const calls = agents.flatMap((a, h) =>
      bound[h]!.map((id, k) => a.reportInstances([{ id, observedGeneration: 1, powerState: k % 2 ? 'paused' : 'running' }])),
    );
    const intruder = agents[0]!.reportInstances([{ id: foreign, observedGeneration: 7, powerState: 'crashed' }]);
    const [results, refused] = await Promise.all([Promise.all(calls), intruder]);
    expect(results.every((r) => r.accepted.length === 1 && r.rejected.length === 0)).toBe(true);
    expect(refused).toEqual({ accepted: [], rejected: [foreign] });

    const rows = await tcp.db.sql<{ id: string; observed_generation: number; power_state: string }[]>`
      select id, observed_generation, power_state from instances where host_id is not null`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    bound.forEach((ids) =>
      ids.forEach((id, k) => expect(byId.get(id)).toMatchObject({ observed_generation: 1, power_state: k % 2 ? 'paused' : 'running' })),
    );
    // Builds are settled in batches (complete_builds jobs); any other change gets the instance's own reconcile.
    const jobs = await tcp.db.sql<{ id: string }[]>`
      select substr(key, 10) as id from graphile_worker._private_jobs where key like 'instance:%'
      union all
      select e.id from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id,
             json_array_elements_text(j.payload) as e(id)
       where t.identifier = 'complete_builds'`;
    expect(jobs.map((j) => j.id).sort()).toEqual(bound.flat().sort());
  });

  it('applies two reports of one instance in one call in order, the later winning', async () => {
    const id = bound[2]![0]!;
    const r = await agents[2]!.reportInstances([
      { id, observedGeneration: 1, powerState: 'shutdown' },
      { id, observedGeneration: 1, powerState: 'suspended' },
    ]);
    expect(r.accepted).toEqual([id, id]);
    const [row] = await tcp.db.sql<{ power_state: string }[]>`select power_state from instances where id = ${id}`;
    expect(row!.power_state).toBe('suspended');
  });

  it('keeps a fault against a later fault-free report of the same generation', async () => {
    const id = bound[3]![0]!;
    const fault = { code: 'SpawnFailed', message: 'no disk' };
    await Promise.all([
      agents[3]!.reportInstances([{ id, observedGeneration: 1, powerState: 'nostate', fault }]),
      agents[4]!.heartbeat(),
    ]);
    await agents[3]!.reportInstances([{ id, observedGeneration: 1, powerState: 'nostate' }]);
    const [row] = await tcp.db.sql<{ agent_fault: { code: string; generation: number } }[]>`select agent_fault from instances where id = ${id}`;
    expect(row!.agent_fault).toMatchObject({ code: 'SpawnFailed', generation: 1 });
  });
});
