import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'c.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  // roomy has 24,576 MiB free, snug 6,144: the default RAM weigher spreads to roomy.
  await tcp.db.sql`insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, hypervisor_type)
                   values ('roomy', 16, 16384, 100, now(), 'QEMU'), ('snug', 16, 4096, 100, now(), 'QEMU')`;
});
afterAll(async () => {
  await tcp?.stop();
});

const APPLY = `mutation($i: SchedulerConfigInput!) { applySchedulerConfig(input: $i) { __typename
  ... on ApplySchedulerConfigSuccess { schedulerConfig { version filters weighers { RAM BuildFailure } appliedBy } }
  ... on ValidationError { field message } ... on Error { message } } }`;

async function apply(input: Record<string, unknown>) {
  return (await tcp.admin.request(APPLY, { i: input })).applySchedulerConfig;
}

/** Creates an instance and waits until the scheduler placed it (host name) or refused it (fault). */
async function placeOne(name: string, flavor = 'c.small', extra: Record<string, unknown> = {}): Promise<{ host: string | null; fault: string | null; id: string }> {
  const r = await createInstance(tcp.admin, { name, flavor, image: 'test-image', ...extra });
  expect(r.__typename).toBe('CreateInstanceSuccess');
  const read = async () =>
    (await tcp.db.sql<{ host: string | null; fault: string | null; id: string }[]>`
      select h.name as host, i.fault->>'message' as fault, i.id from instances i left join hosts h on h.id = i.host_id where i.id = ${r.instance.id}`)[0]!;
  return waitFor(`placement of ${name}`, read, (x) => x.host !== null || x.fault !== null);
}

describe('the scheduler configuration', () => {
  it('starts as the built-in default, version 0', async () => {
    const d = await tcp.admin.request('{ schedulerConfig { version filters hostSubsetSize weighers { RAM CPU IoOps BuildFailure } appliedBy } }');
    expect(d.schedulerConfig).toMatchObject({ version: 0, hostSubsetSize: 1, appliedBy: null, weighers: { RAM: 1, CPU: 0, IoOps: -1, BuildFailure: 1_000_000 } });
    expect(d.schedulerConfig.filters.slice(0, 3)).toEqual(['Compute', 'AvailabilityZone', 'Retry']);
  });

  it('refuses an unknown filter naming the field, and writes nothing', async () => {
    const r = await apply({ filters: ['Compute', 'RAMM'] });
    expect(r.__typename).toBe('ValidationError');
    expect(r.field).toBe('input.filters.1');
    expect(r.message).toMatch(/must be one of Compute, AvailabilityZone/);
    expect((await apply({ hostSubsetSize: 0 })).field).toBe('input.hostSubsetSize');
    const [n] = await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from scheduler_configs`;
    expect(n!.n).toBe(0);
  });

  it('takes effect at the next placement without a restart, and records who applied it', async () => {
    expect((await placeOne('spread')).host).toBe('roomy');
    const r = await apply({ weighers: { RAM: -1 } });
    expect(r.schedulerConfig).toMatchObject({ version: 1, weighers: { RAM: -1, BuildFailure: 1_000_000 }, appliedBy: 'admin' });
    expect((await placeOne('stack')).host).toBe('snug');
    await apply({});
    expect((await placeOne('spread-again')).host).toBe('roomy');
    const h = await tcp.admin.request('{ schedulerConfigHistory { version appliedBy appliedAt } }');
    expect(h.schedulerConfigHistory.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('finds a host the coarse candidates missed when a precise filter rejects them all', async () => {
    const f = await tcp.admin.request(`mutation { createFlavor(input: {name: "c.ssd", vcpus: 1, ramMb: 512, diskGb: 1,
      extraSpecs: [{key: "aggregate_instance_extra_specs:ssd", value: "true"}]}) { __typename } }`);
    expect(f.createFlavor.__typename).toBe('CreateFlavorSuccess');
    await tcp.admin.request(`mutation { createAggregate(input: {name: "ssd", metadata: [{key: "ssd", value: "true"}], hosts: ["snug"]}) { __typename } }`);
    await apply({ filters: ['Compute', 'RAM', 'Disk', 'Core', 'AggregateInstanceExtraSpecs'], candidateLimit: 1 });
    expect((await placeOne('on-ssd', 'c.ssd')).host).toBe('snug');
  });

  it('puts the per-filter summary in the fault of a refused placement', async () => {
    await apply({ filters: ['Compute', 'RAM', 'ComputeCapabilities'] });
    const f = await tcp.admin.request(`mutation { createFlavor(input: {name: "c.xen", vcpus: 1, ramMb: 512, diskGb: 1,
      extraSpecs: [{key: "capabilities:hypervisor_type", value: "s== xen"}]}) { __typename } }`);
    expect(f.createFlavor.__typename).toBe('CreateFlavorSuccess');
    const r = await placeOne('xen', 'c.xen');
    expect(r).toMatchObject({
      host: null,
      fault: 'No valid host was found. 2 hosts: 2 rejected by ComputeCapabilities: hypervisor_type is "QEMU", flavor wants "s== xen"',
    });
  });

  it('honours hints and tenant isolation through the real placement path (SQL and in process)', async () => {
    await apply({ filters: ['Compute', 'RAM', 'SameHost', 'DifferentHost', 'Json', 'AggregateMultiTenancyIsolation'] });
    const q = await placeOne('by-query', 'c.small', { schedulerHints: { query: JSON.stringify(['=', '$host', 'snug']) } });
    expect(q.host).toBe('snug');
    expect((await placeOne('beside', 'c.small', { schedulerHints: { sameHost: [q.id] } })).host).toBe('snug');
    expect((await placeOne('apart', 'c.small', { schedulerHints: { differentHost: [q.id] } })).host).toBe('roomy');
    // roomy is reserved for another project: the coarse SQL drops it, so the admin's instance lands on snug.
    const [p] = await tcp.db.sql<{ id: string }[]>`insert into projects (name) values ('tenant-b') returning id`;
    await tcp.admin.request(`mutation($m: [KeyValueInput!]) { createAggregate(input: {name: "b-only", metadata: $m, hosts: ["roomy"]}) { __typename } }`,
      { m: [{ key: 'filter_tenant_id', value: p!.id }] });
    expect((await placeOne('isolated', 'c.small')).host).toBe('snug');
  });
});
