import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { SOCKET_REAUTH_MS, SocketPrincipals } from '../server/socket-principals.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';

let tcp: TestControlPlane;
const clients: OrreryClient[] = [];

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await tcp?.stop();
});

async function hostToken(name: string): Promise<{ hostId: string; secret: string }> {
  const [h] = await tcp.db.sql<{ id: string }[]>`
    insert into hosts (name, vcpus, memory_mb, disk_gb) values (${name}, 4, 4096, 40) returning id`;
  return { hostId: h!.id, secret: (await issueToken(tcp.db.sql, { kind: 'host', hostId: h!.id })).secret };
}

describe('operations over the subscription socket', () => {
  it('answers a query over the socket as the token’s principal, and refuses a bad token', async () => {
    const { client } = await tcp.userClient('sock-p', 'sock-u', ['member']);
    const d = await client.requestOverSocket(`{ whoami { userName kind } }`);
    expect(d.whoami).toEqual({ userName: 'sock-u', kind: 'user' });

    const stranger = new OrreryClient(tcp.url, 'orr_u_not-a-token');
    clients.push(stranger);
    await expect(stranger.requestOverSocket(`{ whoami { userName kind } }`, {}, 1500)).rejects.toBeInstanceOf(GraphqlRequestError);
  });

  it('a host credential reports only for its own host over the socket too', async () => {
    const mine = await hostToken('sock-host-a');
    const other = await hostToken('sock-host-b');
    const agent = new OrreryClient(tcp.url, mine.secret);
    clients.push(agent);
    const beat = await agent.requestOverSocket(`mutation { heartbeat { epoch } }`);
    expect(beat.heartbeat.epoch).toBeGreaterThanOrEqual(0);
    const [row] = await tcp.db.sql<{ id: string; last_heartbeat_at: Date | null }[]>`
      select id, last_heartbeat_at from hosts where id = ${mine.hostId}`;
    expect(row!.last_heartbeat_at).not.toBeNull();
    const [untouched] = await tcp.db.sql<{ last_heartbeat_at: Date | null }[]>`
      select last_heartbeat_at from hosts where id = ${other.hostId}`;
    expect(untouched!.last_heartbeat_at).toBeNull();
  });
});

describe('SocketPrincipals', () => {
  it('keeps a socket’s principal until the re-check, then drops a revoked token', async () => {
    const { hostId, secret } = await hostToken('sock-host-revoked');
    let now = 1_000_000;
    const sockets = new SocketPrincipals(tcp.db.sql, () => now);
    const socket = {};
    expect(await sockets.connect(socket, { authorization: `Bearer ${secret}` })).toMatchObject({ kind: 'host', hostId });

    await tcp.db.sql`delete from tokens where host_id = ${hostId}`;
    now += SOCKET_REAUTH_MS - 1;
    expect(await sockets.current(socket)).toMatchObject({ kind: 'host', hostId });
    now += 1;
    expect(await sockets.current(socket)).toBeNull();

    expect(await sockets.connect({}, { authorization: `Bearer ${secret}` })).toBeNull();
    expect(await sockets.connect({}, {})).toBeNull();
    sockets.forget(socket);
    expect(await sockets.current(socket)).toBeNull();
  });
});
