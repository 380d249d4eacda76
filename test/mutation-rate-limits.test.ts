import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { AGENT_OPERATIONS } from '../hostagent/api-operations.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';

let tcp: TestControlPlane;
let other: OrreryClient;
let host: OrreryClient;

const zone = (name: string) => `mutation { createAvailabilityZone(input: {name: "${name}"}) { __typename } }`;

async function post(client: OrreryClient, query: string) {
  const res = await fetch(`${tcp.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${client.token}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, any> };
}

async function zones(): Promise<string[]> {
  return (await tcp.db.sql<{ name: string }[]>`select name from availability_zones order by name`).map((r) => r.name);
}

beforeAll(async () => {
  // A burst of 3, then one a second: small enough to reach in a test.
  tcp = await startTestControlPlane({ worker: false, config: { mutationsPerSecond: 1, mutationBurst: 3 } });
  other = (await tcp.userClient('rate-other', 'rate-other-admin', ['admin'])).client;
  const [h] = await tcp.db.sql<{ id: string }[]>`
    insert into hosts (name) values ('rate-host') returning id`;
  host = new OrreryClient(tcp.url, (await issueToken(tcp.db.sql, { kind: 'host', hostId: h!.id })).secret);
});
afterAll(async () => {
  await host?.close();
  await tcp?.stop();
});

describe('mutations per principal', () => {
  it('refuses past the burst with RATE_LIMITED and a Retry-After, writing nothing; another user and the agents go on', async () => {
    for (const n of [1, 2, 3]) expect((await post(tcp.admin, zone(`rate-${n}`))).body.data.createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    const refused = await post(tcp.admin, zone('rate-4'));
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    expect(refused.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(refused.body.errors[0].message).toMatch(/^too many mutations: at most 1 per second after a burst of 3 .*retry in 1 s$/);
    // Over the socket too: one budget per user, whatever the transport.
    const overSocket = (await tcp.admin.requestOverSocket(zone('rate-5')).catch((e: unknown) => e)) as GraphqlRequestError;
    expect(overSocket.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // Reads are not mutations.
    expect((await post(tcp.admin, '{ whoami { kind } }')).status).toBe(200);
    expect((await post(other, zone('rate-other'))).body.data.createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    for (let i = 0; i < 10; i++) expect((await host.requestOverSocket(AGENT_OPERATIONS.heartbeat)).heartbeat.epoch).toBeGreaterThan(0);
    expect(await zones()).toEqual(['rate-1', 'rate-2', 'rate-3', 'rate-other']);
  });

  it('counts writes to the OpenStack facade in the same budget, refused as Nova refuses them', async () => {
    await new Promise((r) => setTimeout(r, 3100));
    const aggregate = (name: string) => fetch(`${tcp.url}/compute/v2.1/os-aggregates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': tcp.admin.token },
      body: JSON.stringify({ aggregate: { name } }),
    });
    for (const n of [1, 2]) expect((await post(tcp.admin, zone(`mixed-${n}`))).body.data.createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    expect((await aggregate('mixed-agg-1')).status).toBe(200);
    const refused = await aggregate('mixed-agg-2');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ overLimit: { code: 429, message: expect.stringMatching(/^too many mutations: at most 1 per second after a burst of 3 /) } });
    // Reads through the facade are not writes.
    const list = await fetch(`${tcp.url}/compute/v2.1/os-aggregates`, { headers: { 'x-auth-token': tcp.admin.token } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { aggregates: { name: string }[] }).aggregates.map((a) => a.name)).toEqual(['mixed-agg-1']);
    expect((await tcp.db.sql<{ name: string }[]>`select name from aggregates order by name`).map((r) => r.name)).toEqual(['mixed-agg-1']);
  });

  it('lets the user in again once the bucket refills', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(tcp.admin, zone('rate-later'))).body.data.createAvailabilityZone.__typename).toBe('CreateAvailabilityZoneSuccess');
    expect(await zones()).toContain('rate-later');
  });
});
