import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let other: OrreryClient;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'g.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member } = await tcp.userClient('groups', 'gina', ['member']));
  ({ client: other } = await tcp.userClient('others', 'otto', ['member']));
});
afterAll(async () => {
  await tcp?.stop();
});

const CREATE = `mutation($i: ServerGroupInput!) { createServerGroup(input: $i) { __typename
  ... on CreateServerGroupSuccess { serverGroup { id name policy rules { maxServerPerHost } members { name } } }
  ... on ValidationError { field message } ... on Error { message } } }`;
const LIST = `{ serverGroups { name policy members { name host } } }`;

describe('server groups', () => {
  it('are created by members with a policy and, for anti-affinity, max_server_per_host', async () => {
    const d = await member.request(CREATE, { i: { name: 'web', policy: 'anti_affinity', maxServerPerHost: 2 } });
    expect(d.createServerGroup.serverGroup).toMatchObject({ name: 'web', policy: 'anti_affinity', rules: { maxServerPerHost: 2 }, members: [] });
    const soft = await member.request(CREATE, { i: { name: 'db', policy: 'soft_affinity' } });
    expect(soft.createServerGroup.serverGroup.rules).toEqual({ maxServerPerHost: null });
  });

  it('refuse max_server_per_host on other policies, naming the field', async () => {
    const d = await member.request(CREATE, { i: { name: 'bad', policy: 'affinity', maxServerPerHost: 3 } });
    expect(d.createServerGroup).toMatchObject({ __typename: 'ValidationError', field: 'input.maxServerPerHost' });
    const zero = await member.request(CREATE, { i: { name: 'bad', policy: 'anti_affinity', maxServerPerHost: 0 } });
    expect(zero.createServerGroup).toMatchObject({ __typename: 'ValidationError', field: 'input.rules.maxServerPerHost' });
  });

  it('list their members; another project sees none of them and cannot join', async () => {
    for (const n of ['w1', 'w2']) {
      expect((await createInstance(member, { name: n, flavor: 'g.small', image: 'test-image', serverGroup: 'web' })).__typename).toBe('CreateInstanceSuccess');
    }
    expect((await member.request(LIST)).serverGroups).toEqual([
      { name: 'db', policy: 'soft_affinity', members: [] },
      { name: 'web', policy: 'anti_affinity', members: [{ name: 'w1', host: null }, { name: 'w2', host: null }] },
    ]);
    expect((await other.request(LIST)).serverGroups).toEqual([]);
    const r = await createInstance(other, { name: 'x', flavor: 'g.small', image: 'test-image', serverGroup: 'web' });
    expect(r).toMatchObject({ __typename: 'NotFoundError', field: 'input.serverGroup' });
  });

  it('check scheduler hints at create time, naming the field', async () => {
    const q = await createInstance(member, { name: 'q', flavor: 'g.small', image: 'test-image', schedulerHints: { query: '["bogus", 1]' } });
    expect(q).toMatchObject({ __typename: 'ValidationError', field: 'input.schedulerHints.query' });
    const s = await createInstance(member, { name: 's', flavor: 'g.small', image: 'test-image', schedulerHints: { sameHost: ['not-a-uuid'] } });
    expect(s).toMatchObject({ __typename: 'ValidationError', field: 'input.schedulerHints.sameHost.0' });
    const ok = await createInstance(member, { name: 'ok', flavor: 'g.small', image: 'test-image', schedulerHints: { query: ['>=', '$free_ram_mb', 256] } });
    expect(ok.__typename).toBe('CreateInstanceSuccess');
    const [row] = await tcp.db.sql<{ scheduler_hints: unknown }[]>`select scheduler_hints from instances where id = ${ok.instance.id}`;
    expect(row!.scheduler_hints).toEqual({ query: ['>=', '$free_ram_mb', 256] });
  });

  it('can be deleted with members (as in Nova): the instances stay and leave the group', async () => {
    const d = await member.request(`mutation { deleteServerGroup(ref: "web") { __typename ... on DeleteServerGroupSuccess { serverGroup { members { name } } } } }`);
    expect(d.deleteServerGroup.serverGroup.members).toHaveLength(2);
    const [n] = await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from instances where name in ('w1', 'w2')`;
    expect(n!.n).toBe(2);
    const [m] = await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from server_group_members`;
    expect(m!.n).toBe(0);
  });
});
