import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentApi } from '../hostagent/api.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { hostLiveness } from '../store/host-liveness.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken, startFakeHosts, type FakeHost } from './support/fake-agents.ts';
import { waitFor } from './support/fixtures.ts';
import { scrape } from './support/prometheus.ts';

const AGENTS = 20;
const DOWN_SECONDS = 3;

let tcp: TestControlPlane;
let hosts: FakeHost[] & { stop(): Promise<void> };

beforeAll(async () => {
  // Leases renewed every second (the support's default), a host down after 3 s without one.
  tcp = await startTestControlPlane({ worker: false, config: { serviceDownSeconds: DOWN_SECONDS, leaseRenewSeconds: 1 } });
  hosts = await startFakeHosts(
    tcp.url,
    tcp.admin,
    Array.from({ length: AGENTS }, (_, i) => ({ name: `lease-${i}` })),
    { heartbeatSeconds: 1, resyncSeconds: 600 },
  );
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const metrics = () => scrape(`${tcp.url}/metrics`);
const heartbeatMutations = async () => (await metrics()).value('orrery_graphql_operations_total', { type: 'mutation', field: 'heartbeat' });
const renewals = async () => (await metrics()).value('orrery_host_lease_renewals_total', { outcome: 'success' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const up = (hostId: string) => hostLiveness(tcp.db.sql, hostId, DOWN_SECONDS).then((h) => h.up);

async function renewedSince(since: Date, names: string[]): Promise<number> {
  const [r] = await tcp.db.sql<{ n: number }[]>`
    select count(*)::int as n from hosts where name = any(${names}) and last_heartbeat_at > ${since}`;
  return r!.n;
}

/** A host credential, enrolled the way an agent does, for a socket of our own. */
async function enrolledHost(name: string): Promise<{ hostId: string; token: string }> {
  const api = new AgentApi(tcp.url, await enrollmentToken(tcp.admin));
  try {
    return await api.enroll(name, { ...(await new FakeDriver().hostInfo()), tunnelAddress: null });
  } finally {
    await api.close();
  }
}

/** A bare graphql-ws socket: connection_init with the token, then only what the test sends. */
async function rawSocket(token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${tcp.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const acked = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await acked;
  return ws;
}

describe('host leases from the agents\' sockets', () => {
  it('keeps connected agents up with no heartbeat mutation, in one renewal statement per interval for all of them', async () => {
    const names = hosts.map((h) => h.name);
    const [mutationsBefore, renewalsBefore] = [await heartbeatMutations(), await renewals()];
    const since = new Date();
    const started = Date.now();
    // Longer than a lease: only renewals keep them up.
    await sleep((DOWN_SECONDS + 2) * 1000);
    const seconds = (Date.now() - started) / 1000;
    expect(await renewedSince(since, names)).toBe(AGENTS);
    for (const h of hosts) expect(await up(h.agent.id)).toBe(true);
    expect(await heartbeatMutations()).toBe(mutationsBefore);
    // About one statement a second for the twenty of them, not twenty.
    const statements = (await renewals()) - renewalsBefore;
    expect(statements).toBeGreaterThanOrEqual(Math.floor(seconds) - 2);
    expect(statements).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    for (const h of hosts) expect(await h.agent.readinessChecks()['control-plane']!()).toBeNull();
  });

  it('lets the lease of a stopped agent run out while the others stay up', { timeout: 30_000 }, async () => {
    const [gone, ...rest] = hosts;
    await gone!.agent.stop();
    await waitFor('its host down', () => up(gone!.agent.id), (u) => !u, (DOWN_SECONDS + 5) * 1000);
    for (const h of rest) expect(await up(h.agent.id)).toBe(true);
  });

  it('does not renew the lease of a host whose socket stays open but silent, and does again when it pings', { timeout: 30_000 }, async () => {
    const host = await enrolledHost('lease-silent');
    const ws = await rawSocket(host.token);
    try {
      // Its connection_init was traffic: renewed once, then nothing.
      await waitFor('renewed once', () => up(host.hostId), (u) => u, 5_000);
      await waitFor('its host down', () => up(host.hostId), (u) => !u, (DOWN_SECONDS + 5) * 1000);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      // A keep-alive ping is traffic like any other message.
      ws.send(JSON.stringify({ type: 'ping' }));
      await waitFor('up again', () => up(host.hostId), (u) => u, 5_000);
    } finally {
      ws.close();
    }
  });

  it('renews only the host of the socket\'s own credential', async () => {
    const quiet = await enrolledHost('lease-quiet');
    const talker = await enrolledHost('lease-talker');
    const ws = await rawSocket(talker.token);
    try {
      await waitFor('talker up', () => up(talker.hostId), (u) => u, 5_000);
      const [row] = await tcp.db.sql<{ at: Date | null }[]>`select last_heartbeat_at as at from hosts where id = ${quiet.hostId}`;
      expect(row!.at).toBeNull();
    } finally {
      ws.close();
    }
  });
});
