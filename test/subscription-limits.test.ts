import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrreryClient } from '../client/graphql.ts';
import { AGENT_OPERATIONS } from '../hostagent/api-operations.ts';
import { issueToken } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let second: OrreryClient;
let other: OrreryClient;
let host: OrreryClient;
let mine: string;
let theirs: string;

const WATCH = `subscription($id: ID!) { instanceUpdated(id: $id) { type instance { id } } }`;

/** The subscription's first answer: its snapshot when admitted, the server's errors when refused. */
async function first(sub: AsyncIterableIterator<Record<string, any>>): Promise<unknown> {
  return sub.next().then((r) => r.value, (e: unknown) => e);
}

function refusal(answer: unknown): { code?: string; limit?: number; message: string } | null {
  const errors = (answer as { errors?: unknown })?.errors ?? answer;
  if (!Array.isArray(errors)) return null;
  const e = errors[0] as { message: string; extensions?: { code?: string; limit?: number } };
  return { message: e.message, ...e.extensions };
}

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false, config: { subscriptionsPerUser: 3 } });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  mine = (await createInstance(tcp.admin, { name: 'watched', flavor: 'm1.small', image: 'test-image' })).instance.id;
  // The same user through a second token and socket: the limit is the user's, not the socket's.
  const [u] = await tcp.db.sql<{ user_id: string }[]>`select user_id from role_assignments where project_id = ${tcp.adminProjectId} limit 1`;
  second = new OrreryClient(tcp.url, (await issueToken(tcp.db.sql, { kind: 'user', userId: u!.user_id, projectId: tcp.adminProjectId })).secret);
  const o = await tcp.userClient('subs-other', 'subs-other-admin', ['admin']);
  other = o.client;
  theirs = (await createInstance(other, { name: 'theirs', flavor: 'm1.small', image: 'test-image' })).instance.id;
  const [h] = await tcp.db.sql<{ id: string }[]>`insert into hosts (name) values ('subs-host') returning id`;
  host = new OrreryClient(tcp.url, (await issueToken(tcp.db.sql, { kind: 'host', hostId: h!.id })).secret);
});
afterAll(async () => {
  await second?.close();
  await host?.close();
  await tcp?.stop();
});

describe('subscriptions per user', () => {
  it('refuses the one past the limit across all the user\'s sockets; other users and agents go on; an ended one is given back', async () => {
    const held = [tcp.admin.subscribe(WATCH, { id: mine }), tcp.admin.subscribe(WATCH, { id: mine }), second.subscribe(WATCH, { id: mine })];
    for (const sub of held) expect(await first(sub)).toEqual({ instanceUpdated: { type: 'SNAPSHOT', instance: { id: mine } } });

    const past = refusal(await first(second.subscribe(WATCH, { id: mine })));
    expect(past).toEqual({
      code: 'RATE_LIMITED', limit: 3,
      message: 'too many subscriptions: at most 3 open at once per user on this API (ORRERY_SUBSCRIPTIONS_PER_USER); end one first',
    });

    // Another user has a share of their own, and a host's subscriptions are never counted.
    const theirSubs = [1, 2, 3].map(() => other.subscribe(WATCH, { id: theirs }));
    for (const sub of theirSubs) expect(await first(sub)).toEqual({ instanceUpdated: { type: 'SNAPSHOT', instance: { id: theirs } } });
    const agentSubs = [1, 2, 3, 4].map(() => host.subscribe(AGENT_OPERATIONS.watchConsoles));
    for (const sub of agentSubs) expect(await first(sub)).toEqual({ agentConsoleSessions: [] });

    // The server gives a share back once it has seen the subscription end.
    await held[0]!.return!();
    const again = await waitFor('a subscription admitted again', async () => {
      const sub = second.subscribe(WATCH, { id: mine });
      const answer = await first(sub);
      if (refusal(answer) === null) await sub.return!();
      return answer;
    }, (answer) => refusal(answer) === null, 5_000);
    expect(again).toEqual({ instanceUpdated: { type: 'SNAPSHOT', instance: { id: mine } } });
    for (const sub of [...held.slice(1), ...theirSubs, ...agentSubs]) await sub.return!();
  });

  it('gives back everything a socket held when it closes', async () => {
    // The previous test's subscriptions end as the server hears of it, a moment after their return():
    // the user's three shares are open again once three subscriptions at once are admitted.
    const admitted = await waitFor('the user\'s three shares free', async () => {
      const tried = [1, 2, 3].map(() => second.subscribe(WATCH, { id: mine }));
      const answers = await Promise.all(tried.map(first));
      if (answers.every((a) => refusal(a) === null)) return { tried, answers };
      for (const [i, sub] of tried.entries()) if (refusal(answers[i]) === null) await sub.return!();
      return null;
    }, (r) => r !== null, 5_000);
    for (const a of admitted!.answers) expect(a).toEqual({ instanceUpdated: { type: 'SNAPSHOT', instance: { id: mine } } });
    expect(refusal(await first(tcp.admin.subscribe(WATCH, { id: mine })))?.code).toBe('RATE_LIMITED');
    await second.close();
    const back = await waitFor('the closed socket\'s share given back', async () => {
      const sub = tcp.admin.subscribe(WATCH, { id: mine });
      const answer = await first(sub);
      if (refusal(answer) === null) await sub.return!();
      return answer;
    }, (answer) => refusal(answer) === null, 5_000);
    expect(back).toEqual({ instanceUpdated: { type: 'SNAPSHOT', instance: { id: mine } } });
  });
});
