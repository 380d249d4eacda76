import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLog } from '../core/log.ts';
import { ChangeFeed, type Change } from '../server/change-feed.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { seedCatalogue, seedHosts, seedInstances, type Seeded } from './support/scheduler-seed.ts';

let db: TestDatabase;
let feed: ChangeFeed;
let hostA: string;
let hostB: string;
let id: string;
let seeded: Seeded;

beforeAll(async () => {
  db = await createTestDatabase();
  feed = new ChangeFeed(rootLog());
  await feed.start(db.sql);
  seeded = await seedCatalogue(db.sql);
  await seedHosts(db.sql, 'feed', 2);
  [hostA, hostB] = (await db.sql<{ id: string }[]>`select id from hosts order by name`).map((h) => h.id);
  // The setup's own notifications (insert, bind) must be in before the tests listen.
  const setup = feed.subscribe(() => true);
  [id] = await seedInstances(db.sql, seeded, 'feed', 1);
  await db.sql`update instances set host_id = ${hostA!} where id = ${id!}`;
  for (let seen = 0; seen < 2; seen++) await setup.next();
  await setup.return?.();
});
afterAll(async () => {
  await feed?.stop();
  await db?.drop();
});

/** Runs a write and returns what a general listener and each host's listener heard from it. */
async function heard(write: () => Promise<unknown>) {
  const all: Change[] = [];
  const a: Change[] = [];
  const b: Change[] = [];
  const streams = [
    [feed.subscribe((c) => c.id === id), all],
    [feed.subscribeHost(hostA), a],
    [feed.subscribeHost(hostB), b],
  ] as const;
  const pumps = streams.map(async ([stream, into]) => {
    for await (const c of stream) into.push(c);
  });
  await write();
  // The general listener always hears the change; once it has, the host listeners have had their chance too.
  for (let i = 0; i < 200 && all.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  for (const [stream] of streams) await stream.return?.();
  await Promise.all(pumps);
  return { all: all.length, a: a.length, b: b.length, agent: all[0]?.agent };
}

describe("an agent's watch hears only the instance changes its agent reads", () => {
  it('skips writes to what the control plane keeps for itself, and the echo of reports', async () => {
    const r = await heard(() => db.sql`
      update instances set vm_state = 'active', task_state = null, power_state = 'running', launched_at = now(),
             observed_generation = generation, agent_reported_at = now(), fault = null, tags = '{x}', locked = true
       where id = ${id}`);
    expect(r).toEqual({ all: 1, a: 0, b: 0, agent: false });
  });

  it('passes on what the agent reads: desired power, generation, metadata, an operation, offloading', async () => {
    for (const write of [
      () => db.sql`update instances set desired_power_state = 'stopped' where id = ${id}`,
      () => db.sql`update instances set generation = generation + 1 where id = ${id}`,
      () => db.sql`update instances set metadata = '{"a":"1"}' where id = ${id}`,
      () => db.sql`update instances set task_state = 'shelving_offloading' where id = ${id}`,
    ]) {
      expect(await heard(write)).toEqual({ all: 1, a: 1, b: 0, agent: true });
    }
    // Leaving offloading is news too; moving between other task states is not.
    expect(await heard(() => db.sql`update instances set task_state = 'spawning' where id = ${id}`)).toMatchObject({ a: 1, agent: true });
    expect(await heard(() => db.sql`update instances set task_state = 'rebooting' where id = ${id}`)).toMatchObject({ a: 0, agent: false });
  });

  it('a move is heard by both hosts, a delete by the host it was on', async () => {
    expect(await heard(() => db.sql`update instances set host_id = ${hostB} where id = ${id}`)).toEqual({ all: 1, a: 1, b: 1, agent: true });
    expect(await heard(() => db.sql`delete from instances where id = ${id}`)).toEqual({ all: 1, a: 0, b: 1, agent: true });
  });
});

describe('instance changes of one statement, many to a notification', () => {
  it('a 100-row insert, move and delete each arrive as 100 changes in a few notifications, the move naming both hosts', async () => {
    let notifications = 0;
    const raw = await db.sql.listen('orrery_changes', () => void notifications++);
    const heardChanges: Change[] = [];
    const stream = feed.subscribe((c) => c.kind === 'instance');
    const pump = (async () => {
      for await (const c of stream) heardChanges.push(c);
    })();
    const until = async (n: number) => {
      for (let i = 0; i < 300 && heardChanges.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    const ids = await seedInstances(db.sql, seeded, 'bulk', 100);
    await until(100);
    await db.sql`update instances set host_id = ${hostA!} where id = any(${ids}::uuid[])`;
    await until(200);
    await db.sql`update instances set host_id = ${hostB!} where id = any(${ids}::uuid[])`;
    await until(300);
    await db.sql`delete from instances where id = any(${ids}::uuid[])`;
    await until(400);
    await stream.return?.();
    await pump;
    await raw.unlisten();

    expect(heardChanges).toHaveLength(400);
    // ceil(100 / 32) notifications per statement, not one per row.
    expect(notifications).toBe(16);
    const byStep = [0, 1, 2, 3].map((s) => heardChanges.slice(s * 100, s * 100 + 100));
    for (const step of byStep) expect(new Set(step.map((c) => c.id))).toEqual(new Set(ids));
    expect(byStep[0]!.every((c) => c.hostId === null && !c.deleted && c.agent === true && c.projectId === seeded.projectId)).toBe(true);
    expect(byStep[1]!.every((c) => c.hostId === hostA && c.previousHostId === null && c.agent === true)).toBe(true);
    expect(byStep[2]!.every((c) => c.hostId === hostB && c.previousHostId === hostA && c.agent === true)).toBe(true);
    expect(byStep[3]!.every((c) => c.hostId === hostB && c.deleted === true)).toBe(true);
    // Each change carries its row's own revision, as the row trigger's did.
    expect(new Set(byStep[2]!.map((c) => c.revision)).size).toBe(100);
  });
});
