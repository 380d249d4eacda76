import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLog } from '../core/log.ts';
import { AgentApi } from '../hostagent/api.ts';
import { startHollowHosts, type HollowHost } from '../hostagent/hollow.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, seedImage, waitFor } from './support/fixtures.ts';
import { startOrrery, type OrreryProcess } from './support/orrery-process.ts';

const HOSTS = 50;
// Each hollow host has 1024 MiB at ratio 1.5: three 512 MiB instances fit, a fourth does not.
const PER_HOST = 3;
const EXTRA = 6;

let tcp: TestControlPlane;
let fleet: HollowHost[] & { stop(): Promise<void> };
let workers: OrreryProcess[] = [];
const stateDir = path.join(os.tmpdir(), `orrery-hollow-test-${process.pid}-${Date.now()}`);

beforeAll(async () => {
  // The API runs here; placement runs only in two separate worker processes.
  tcp = await startTestControlPlane({ worker: false });
  workers = [1, 2].map((n) =>
    startOrrery(['worker'], { DATABASE_URL: tcp.db.url, ORRERY_DATA_DIR: path.join(stateDir, `worker-${n}`), ORRERY_WORKER_CONCURRENCY: '5' }),
  );
  await Promise.all(workers.map((w) => w.waitForLog('Orrery worker running')));
  await createFlavor(tcp.admin, 'm1.half', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  await tcp.db.sql`insert into quota_limits (project_id, resource, hard_limit)
    select ${tcp.adminProjectId}, resource, -1 from quota_defaults`;
  fleet = await startHollowHosts({
    apiUrl: tcp.url,
    count: HOSTS,
    namePrefix: 'hollow-',
    enrollmentToken: await enrollmentToken(tcp.admin),
    stateDir,
    heartbeatSeconds: 1,
    resyncSeconds: 30,
    consoleSeconds: 30,
    startConcurrency: 10,
    driver: { vcpus: 4, memoryMb: 1024, diskGb: 100, delayMs: 1 },
    log: rootLog(),
  });
});

afterAll(async () => {
  await fleet?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  await tcp?.stop();
});

describe('hollow hosts', () => {
  it('enroll as distinct hosts, each with its own credential, and keep their leases', async () => {
    const hosts = await tcp.db.sql<{ name: string; id: string }[]>`select name, id from hosts where name like 'hollow-%'`;
    expect(hosts).toHaveLength(HOSTS);
    expect(new Set(fleet.map((h) => h.agent.id))).toEqual(new Set(hosts.map((h) => h.id)));
    const [{ n }] = (await tcp.db.sql`select count(distinct host_id)::int as n from tokens where kind = 'host'`) as unknown as [{ n: number }];
    expect(n).toBe(HOSTS);
    const since = new Date();
    await waitFor(
      'every lease renewed',
      () => tcp.db.sql<{ n: number }[]>`select count(*)::int as n from hosts where name like 'hollow-%' and last_heartbeat_at > ${since}`,
      (r) => r[0]!.n === HOSTS,
      5_000,
    );
  });

  it('run a burst of instances to ACTIVE, placed exactly by two worker processes', { timeout: 90_000 }, async () => {
    const total = HOSTS * PER_HOST + EXTRA;
    const made = await Promise.all(
      Array.from({ length: total }, (_, i) => createInstance(tcp.admin, { name: `burst-${i}`, flavor: 'm1.half', image: 'test-image' })),
    );
    expect(made.filter((m) => m.__typename !== 'CreateInstanceSuccess')).toEqual([]);
    const settled = await waitFor(
      'every instance ACTIVE or refused',
      () => tcp.db.sql<{ vm_state: string; n: number }[]>`select vm_state, count(*)::int as n from instances group by vm_state order by vm_state`,
      (rows) => rows.every((r) => r.vm_state === 'active' || r.vm_state === 'error') && rows.reduce((s, r) => s + r.n, 0) === total,
      55_000,
    );
    expect(Object.fromEntries(settled.map((r) => [r.vm_state, r.n]))).toEqual({ active: HOSTS * PER_HOST, error: EXTRA });
    const perHost = await tcp.db.sql<{ n: number; allocations: number }[]>`
      select count(i.id)::int as n, (select count(*)::int from allocations a where a.host_id = h.id) as allocations
        from hosts h left join instances i on i.host_id = h.id group by h.id`;
    expect(perHost.every((h) => h.n === PER_HOST && h.allocations === PER_HOST)).toBe(true);
    // Every active instance runs on the fake hypervisor of exactly the host it is bound to.
    const bound = await tcp.db.sql<{ id: string; host_id: string }[]>`select id, host_id from instances where vm_state = 'active'`;
    const where = new Map(fleet.flatMap((h) => [...h.driver.domains.keys()].map((id) => [id, h.agent.id])));
    expect(bound.every((b) => where.get(b.id) === b.host_id)).toBe(true);
    expect(where.size).toBe(bound.length);
  });

  it("a host's credential cannot report for another host's instance", async () => {
    const [a, b] = fleet;
    const saved = JSON.parse(await readFile(path.join(stateDir, a!.name, 'host-credential.json'), 'utf8')) as { token: string };
    const asA = new AgentApi(tcp.url, saved.token);
    const [foreign] = await tcp.db.sql<{ id: string; generation: number }[]>`
      select id, generation from instances where host_id = ${b!.agent.id} limit 1`;
    const r = await asA.reportInstances([{ id: foreign!.id, observedGeneration: foreign!.generation + 5, powerState: 'crashed' }]);
    await asA.close();
    expect(r).toEqual({ accepted: [], rejected: [foreign!.id] });
    const [after] = await tcp.db.sql<{ power_state: string; observed_generation: number }[]>`
      select power_state, observed_generation from instances where id = ${foreign!.id}`;
    expect(after).toEqual({ power_state: 'running', observed_generation: foreign!.generation });
  });
});
