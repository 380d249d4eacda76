import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let projectId: string;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'q.small', 1, 512, 1);
  await createFlavor(tcp.admin, 'q.big', 4, 4096, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member, projectId } = await tcp.userClient('quota-p', 'quota-user', ['member']));
});
afterAll(async () => {
  await tcp?.stop();
});

const QUOTAS = `query($p: String) { quotas(project: $p) { resource limit inUse overridden } }`;
const SET = `mutation($i: SetQuotaInput!) { setQuota(input: $i) { __typename
  ... on SetQuotaSuccess { quotas { resource limit } } ... on ValidationError { field message } ... on Error { message } } }`;
const RESULT = `__typename ... on QuotaExceededError { message resource requested inUse limit } ... on Error { message }`;

async function setQuota(resource: string, limit: number | null, project: string | null = 'quota-p') {
  const d = await tcp.admin.request(SET, { i: { project, resource, limit } });
  return d.setQuota;
}

const quota = async (client: OrreryClient, resource: string, p?: string) =>
  ((await client.request(QUOTAS, { p })).quotas as { resource: string; limit: number; inUse: number; overridden: boolean }[]).find((q) => q.resource === resource)!;

describe('quotas', () => {
  it('show defaults and usage, and take admin overrides', async () => {
    expect(await quota(member, 'instances')).toEqual({ resource: 'instances', limit: 10, inUse: 0, overridden: false });
    expect((await setQuota('instances', 5)).__typename).toBe('SetQuotaSuccess');
    expect(await quota(member, 'instances')).toMatchObject({ limit: 5, overridden: true });
    expect(await quota(tcp.admin, 'instances', 'quota-p')).toMatchObject({ limit: 5 });
  });

  it('refuse a member who sets quotas, and a bad resource naming the field', async () => {
    await expect(member.request(SET, { i: { project: 'quota-p', resource: 'cores', limit: 100 } })).rejects.toThrow(/forbidden|policy/i);
    const bad = await setQuota('gpus', 3);
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'input.resource' });
  });

  it('set several limits at once, all of them or none', async () => {
    const SETS = `mutation($i: SetQuotasInput!) { setQuotas(input: $i) { __typename
      ... on SetQuotasSuccess { quotas { resource limit } } ... on ValidationError { field message } ... on Error { message } } }`;
    const limits = async () => Object.fromEntries((await tcp.db.sql<{ resource: string; hard_limit: number }[]>`
      select l.resource, l.hard_limit from quota_limits l join projects p on p.id = l.project_id where p.name = 'quota-p'`).map((r) => [r.resource, r.hard_limit]));
    const before = await limits();
    const bad = (await tcp.admin.request(SETS, { i: { project: 'quota-p', limits: [{ resource: 'key_pairs', limit: 7 }, { resource: 'ram', limit: -2 }] } })).setQuotas;
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'input.limits.1.limit' });
    const twice = (await tcp.admin.request(SETS, { i: { project: 'quota-p', limits: [{ resource: 'key_pairs', limit: 7 }, { resource: 'key_pairs', limit: 8 }] } })).setQuotas;
    expect(twice).toMatchObject({ __typename: 'ValidationError', field: 'input.limits.1.resource', message: 'input.limits.1.resource: key_pairs is given twice' });
    const noDefault = (await tcp.admin.request(SETS, { i: { limits: [{ resource: 'key_pairs', limit: 7 }, { resource: 'ram', limit: null }] } })).setQuotas;
    expect(noDefault).toMatchObject({ __typename: 'ValidationError', field: 'input.limits.1.limit' });
    expect(await limits()).toEqual(before);
    const ok = (await tcp.admin.request(SETS, { i: { project: 'quota-p', limits: [{ resource: 'key_pairs', limit: 7 }, { resource: 'ram', limit: 4096 }] } })).setQuotas;
    expect(ok.__typename).toBe('SetQuotasSuccess');
    expect(await limits()).toEqual({ ...before, key_pairs: 7, ram: 4096 });
    // null goes back to the default, for the tests that follow.
    const back = (await tcp.admin.request(SETS, { i: { project: 'quota-p', limits: [{ resource: 'key_pairs', limit: null }, { resource: 'ram', limit: null }] } })).setQuotas;
    expect(back.__typename).toBe('SetQuotasSuccess');
    expect(await limits()).toEqual(before);
  });

  it('are never exceeded by concurrent creates', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        member.request(`mutation($i: CreateInstanceInput!) { createInstance(input: $i) { ${RESULT} } }`,
          { i: { name: `burst-${i}`, flavor: 'q.small', image: 'test-image' } })),
    );
    const kinds = results.map((r) => r.createInstance.__typename);
    expect(kinds.filter((k) => k === 'CreateInstanceSuccess')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'QuotaExceededError')).toHaveLength(7);
    const [n] = await tcp.db.sql<{ n: number }[]>`select count(*)::int as n from instances where project_id = ${projectId}`;
    expect(n!.n).toBe(5);
    expect(results.find((r) => r.createInstance.__typename === 'QuotaExceededError')!.createInstance).toEqual({
      __typename: 'QuotaExceededError', message: 'quota exceeded for instances: requested 1, in use 5 of 5',
      resource: 'instances', requested: 1, inUse: 5, limit: 5,
    });
  });

  it('name the resource that ran out (cores), with its usage', async () => {
    await setQuota('instances', -1);
    await setQuota('cores', 8);
    const r = await createInstance(member, { name: 'big', flavor: 'q.big', image: 'test-image' });
    expect(r.message).toBe('quota exceeded for cores: requested 4, in use 5 of 8');
    expect(await quota(member, 'cores')).toMatchObject({ inUse: 5, limit: 8 });
    expect(await quota(member, 'ram')).toMatchObject({ inUse: 2560, limit: 51200 });
  });

  it('limit metadata items per instance, server groups and members per group', async () => {
    await setQuota('cores', null);
    await setQuota('metadata_items', 2);
    const meta = [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'c', value: '3' }];
    expect((await createInstance(member, { name: 'meta', flavor: 'q.small', image: 'test-image', metadata: meta })).message)
      .toBe('quota exceeded for metadata_items: requested 3, in use 0 of 2');

    await setQuota('server_groups', 1);
    const G = `mutation($i: ServerGroupInput!) { createServerGroup(input: $i) { ${RESULT} } }`;
    expect((await member.request(G, { i: { name: 'g1', policy: 'soft_anti_affinity' } })).createServerGroup.__typename).toBe('CreateServerGroupSuccess');
    expect((await member.request(G, { i: { name: 'g2', policy: 'affinity' } })).createServerGroup.message)
      .toBe('quota exceeded for server_groups: requested 1, in use 1 of 1');

    await setQuota('server_group_members', 1);
    expect((await createInstance(member, { name: 'm1', flavor: 'q.small', image: 'test-image', serverGroup: 'g1' })).__typename).toBe('CreateInstanceSuccess');
    expect((await createInstance(member, { name: 'm2', flavor: 'q.small', image: 'test-image', serverGroup: 'g1' })).message)
      .toBe('quota exceeded for server_group_members: requested 1, in use 1 of 1');
  });

  it('take a new default for every project without its own limit', async () => {
    expect((await setQuota('key_pairs', 3, null)).__typename).toBe('SetQuotaSuccess');
    expect(await quota(member, 'key_pairs')).toMatchObject({ limit: 3, overridden: false });
    expect((await setQuota('key_pairs', null, null))).toMatchObject({ __typename: 'ValidationError', field: 'input.limit' });
  });
});
