import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';

let tcp: TestControlPlane;
const clients: OrreryClient[] = [];

beforeAll(async () => {
  tcp = await startTestControlPlane();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await tcp?.stop();
});

const inventory = { hypervisorType: 'fake', hypervisorVersion: '1', architecture: 'x86_64', cpuModel: 'fake', cpuFeatures: [], vcpus: 4, memoryMb: 4096, diskGb: 40 };

async function enroll(name: string) {
  const c = new OrreryClient(tcp.url, await enrollmentToken(tcp.admin));
  clients.push(c);
  return (await c.request(
    `mutation($name: String!, $inv: HostInventoryInput!) { enrollHost(name: $name, inventory: $inv) {
       __typename ... on EnrollHostSuccess { enrollment { hostId token } } ... on Error { message } } }`,
    { name, inv: inventory },
  )).enrollHost;
}

async function heartbeat(token: string): Promise<string> {
  const c = new OrreryClient(tcp.url, token);
  clients.push(c);
  try {
    await c.request(`mutation { heartbeat { epoch } }`);
    return 'ok';
  } catch (e) {
    return e instanceof GraphqlRequestError ? e.code ?? 'error' : 'error';
  }
}

describe('enrollment', () => {
  it('refuses to enroll a host name whose agent is up, and re-enrolls it once that agent is down', async () => {
    const first = await enroll('enr-a');
    expect(first.__typename).toBe('EnrollHostSuccess');
    const token = first.enrollment.token as string;
    expect(await heartbeat(token)).toBe('ok');

    const taken = await enroll('enr-a');
    expect(taken.__typename).toBe('ConflictError');
    expect(taken.message).toMatch(/host enr-a is enrolled and its agent is up/);
    expect(await heartbeat(token)).toBe('ok');
    expect((await tcp.db.sql`select 1 from tokens where kind = 'host' and host_id = ${first.enrollment.hostId}`).length).toBe(1);

    // The agent stopped long ago: a new one may take the name, and the old credential dies.
    await tcp.db.sql`update hosts set last_heartbeat_at = now() - interval '1 hour' where name = 'enr-a'`;
    const again = await enroll('enr-a');
    expect(again.__typename).toBe('EnrollHostSuccess');
    expect(again.enrollment.hostId).toBe(first.enrollment.hostId);
    expect(await heartbeat(token)).toBe('UNAUTHENTICATED');
    expect(await heartbeat(again.enrollment.token)).toBe('ok');
  });

  it('keeps the inventory a host reports, and refuses a bad one naming the field, changing nothing', async () => {
    const enrolled = await enroll('enr-inv');
    const agent = new OrreryClient(tcp.url, enrolled.enrollment.token);
    clients.push(agent);
    const report = async (inv: Record<string, unknown>) => (await agent.request(
      `mutation($inv: HostInventoryInput!) { reportHost(inventory: $inv) {
         __typename ... on ValidationError { field message } } }`,
      { inv: { ...inventory, ...inv } },
    )).reportHost;
    const row = async () => (await tcp.db.sql`
      select vcpus, memory_mb, disk_gb, capabilities, migration_uri from hosts where id = ${enrolled.enrollment.hostId}`)[0];

    expect(await report({ vcpus: 8, memoryMb: 8192, cpuModel: 'kvm64', cpuFeatures: ['sse4.2'], migrationUri: 'qemu+tcp://10.0.0.5/system' }))
      .toEqual({ __typename: 'ReportHostSuccess' });
    const grown = { vcpus: 8, memory_mb: 8192, disk_gb: 40, capabilities: { cpu_model: 'kvm64', cpu_features: ['sse4.2'] }, migration_uri: 'qemu+tcp://10.0.0.5/system' };
    expect(await row()).toEqual(grown);

    expect(await report({ vcpus: -1 })).toMatchObject({ __typename: 'ValidationError', field: 'inventory.vcpus' });
    expect(await report({ migrationUri: 'not a uri' })).toMatchObject({ __typename: 'ValidationError', field: 'inventory.migrationUri' });
    expect(await row()).toEqual(grown);
  });
});
