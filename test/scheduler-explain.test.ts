import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'e.large', 2, 4096, 10);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  const sql = tcp.db.sql;
  // 1,000 hosts: 600 roomy, 200 small (3,072 MiB at ratio 1.5), 100 disabled, 50 forced down, 50 silent.
  await sql`insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, enabled, forced_down)
            select 'x-' || lpad(g::text, 4, '0'), 16, case when g between 600 and 799 then 2048 else 16384 end, 500,
                   case when g >= 950 then now() - interval '1 hour' else now() end, not (g between 800 and 899), g between 900 and 949
              from generate_series(0, 999) g`;
  // Usage spreads the roomy hosts so the ranking has a clear winner.
  await sql`update hosts set used_memory_mb = (substr(name, 3)::int % 100) * 16 where substr(name, 3)::int < 600`;
});
afterAll(async () => {
  await tcp?.stop();
});

const EXPLAIN = `query($i: ExplainPlacementInput!) { explainPlacement(input: $i) {
  summary configVersion filters hosts { host passed filter reason weight rank } } }`;

type Verdict = { host: string; passed: boolean; filter: string | null; reason: string | null; weight: number | null; rank: number | null };

describe('explainPlacement', () => {
  it('answers for 1,000 hosts, per host, with the filter that said no or the rank', async () => {
    const started = performance.now();
    const d = await tcp.admin.request(EXPLAIN, { i: { flavor: 'e.large', image: 'test-image' } });
    console.log(`explainPlacement over 1,000 hosts: ${(performance.now() - started).toFixed(0)} ms (HTTP round trip included)`);
    const e = d.explainPlacement as { summary: string; configVersion: number; filters: string[]; hosts: Verdict[] };
    expect(e.hosts).toHaveLength(1000);
    expect(e.configVersion).toBe(0);
    expect(e.hosts[0]).toMatchObject({ host: 'x-0000', passed: true, rank: 1, filter: null });
    const by = (f: string) => e.hosts.filter((h) => h.filter === f);
    expect(e.hosts.filter((h) => h.passed)).toHaveLength(600);
    expect(by('RAM')).toHaveLength(200);
    expect(by('Compute')).toHaveLength(200);
    expect(e.hosts.find((h) => h.host === 'x-0600')).toMatchObject({ passed: false, filter: 'RAM', reason: 'lacks RAM (need 4096 MiB, free 3072 MiB at ratio 1.5)' });
    expect(e.hosts.find((h) => h.host === 'x-0800')).toMatchObject({ filter: 'Compute', reason: 'disabled' });
    expect(e.hosts.find((h) => h.host === 'x-0900')).toMatchObject({ filter: 'Compute', reason: 'forced down' });
    expect(e.hosts.find((h) => h.host === 'x-0950')!.reason).toMatch(/^agent down \(last heartbeat 36\d\d s ago\)$/);
    expect(e.summary).toBe(
      '600 of 1000 hosts pass; best x-0000. 1000 hosts: 200 rejected by RAM: lack RAM (need 4096 MiB, best has 3072); ' +
        '200 rejected by Compute: 100 disabled, 50 forced down, 50 down',
    );
  });

  it('says No valid host in the words a fault would use, and refuses non-admins', async () => {
    await createFlavor(tcp.admin, 'e.huge', 2, 65536, 10);
    const d = await tcp.admin.request(EXPLAIN, { i: { flavor: 'e.huge', image: 'test-image', zone: null } });
    expect(d.explainPlacement.summary).toBe(
      'No valid host was found. 1000 hosts: 800 rejected by RAM: lack RAM (need 65536 MiB, best has 24576); 200 rejected by Compute: 100 disabled, 50 forced down, 50 down',
    );
    const { client } = await tcp.userClient('plain', 'pat', ['member']);
    await expect(client.request(EXPLAIN, { i: { flavor: 'e.large', image: 'test-image' } })).rejects.toThrow();
  });

  it('names a bad reference by its field', async () => {
    await expect(tcp.admin.request(EXPLAIN, { i: { flavor: 'nope', image: 'test-image' } })).rejects.toThrow(/flavor "nope" not found/);
  });
});
