import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';

let tcp: TestControlPlane;
let member: OrreryClient;
let hostIds: Record<string, string>;

const RESULT = `__typename
  ... on Error { message }
  ... on ValidationError { field }
  ... on NotFoundError { missing: field }`;
const ZONE = `availabilityZone { id name description hosts }`;
const AGGREGATE = `aggregate { id name hosts metadata { key value } }`;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  member = (await tcp.userClient('tenant', 'alice', ['member'])).client;
  const rows = await tcp.db.sql<{ id: string; name: string }[]>`
    insert into hosts (name) values ('h1'), ('h2'), ('h3') returning id, name`;
  hostIds = Object.fromEntries(rows.map((r) => [r.name, r.id]));
});
afterAll(async () => tcp.stop());

async function createZone(name: string, description?: string) {
  const r = await tcp.admin.request(
    `mutation($input: AvailabilityZoneInput!) { createAvailabilityZone(input: $input) { ${RESULT} ... on CreateAvailabilityZoneSuccess { ${ZONE} } } }`,
    { input: { name, description } },
  );
  return r.createAvailabilityZone;
}

describe('availability zones', () => {
  it('creates, lists, renames and deletes a zone, with its hosts listed', async () => {
    const created = await createZone('az1', 'rack A');
    expect(created).toMatchObject({ __typename: 'CreateAvailabilityZoneSuccess', availabilityZone: { name: 'az1', hosts: [] } });
    const [row] = await tcp.db.sql`select name, description from availability_zones where id = ${created.availabilityZone.id}`;
    expect(row).toEqual({ name: 'az1', description: 'rack A' });

    await tcp.db.sql`update hosts set zone_id = ${created.availabilityZone.id} where name in ('h2', 'h1')`;
    const listed = await member.request(`{ availabilityZones { name hosts } availabilityZone(ref: "az1") { id hosts } }`);
    expect(listed.availabilityZones).toEqual([{ name: 'az1', hosts: ['h1', 'h2'] }]);
    expect(listed.availabilityZone).toEqual({ id: created.availabilityZone.id, hosts: ['h1', 'h2'] });

    const renamed = await tcp.admin.request(
      `mutation { updateAvailabilityZone(ref: "az1", input: { name: "az-one" }) { ${RESULT} ... on UpdateAvailabilityZoneSuccess { ${ZONE} } } }`,
    );
    expect(renamed.updateAvailabilityZone.availabilityZone).toMatchObject({ name: 'az-one', description: 'rack A', hosts: ['h1', 'h2'] });

    const blocked = await tcp.admin.request(`mutation { deleteAvailabilityZone(ref: "az-one") { ${RESULT} } }`);
    expect(blocked.deleteAvailabilityZone).toMatchObject({ __typename: 'ConflictError', message: expect.stringContaining('h1, h2') });

    await tcp.db.sql`update hosts set zone_id = null`;
    const deleted = await tcp.admin.request(`mutation { deleteAvailabilityZone(ref: "${created.availabilityZone.id}") { ${RESULT} } }`);
    expect(deleted.deleteAvailabilityZone.__typename).toBe('DeleteAvailabilityZoneSuccess');
    expect(await tcp.db.sql`select 1 from availability_zones`).toHaveLength(0);
  });

  it('refuses to delete or rename a zone that instances request', async () => {
    await createZone('busy');
    const [project] = await tcp.db.sql<{ id: string; user_id: string }[]>`
      select p.id, (select id from users where name = 'alice') as user_id from projects p where name = 'tenant'`;
    const [flavor] = await tcp.db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('f1', 1, 512, 1) returning id`;
    const [image] = await tcp.db.sql<{ id: string }[]>`
      insert into images (name, owner_project_id, disk_format) values ('img', ${project!.id}, 'raw') returning id`;
    await tcp.db.sql`
      insert into instances (project_id, user_id, name, flavor_id, image_id, requested_zone)
      values (${project!.id}, ${project!.user_id}, 'vm', ${flavor!.id}, ${image!.id}, 'busy')`;

    const del = await tcp.admin.request(`mutation { deleteAvailabilityZone(ref: "busy") { ${RESULT} } }`);
    expect(del.deleteAvailabilityZone).toMatchObject({ __typename: 'ConflictError', message: expect.stringContaining('1 instance') });
    const ren = await tcp.admin.request(`mutation { updateAvailabilityZone(ref: "busy", input: { name: "idle" }) { ${RESULT} } }`);
    expect(ren.updateAvailabilityZone.__typename).toBe('ConflictError');
    expect(await tcp.db.sql`select name from availability_zones`).toEqual([{ name: 'busy' }]);

    await tcp.db.sql`delete from instances`;
    await tcp.db.sql`delete from images`;
    await tcp.db.sql`delete from flavors`;
    await tcp.db.sql`delete from availability_zones`;
  });

  it('rejects bad input naming the field, duplicates as conflicts, and writes nothing', async () => {
    expect(await createZone('')).toMatchObject({ __typename: 'ValidationError', field: 'input.name' });
    await createZone('dup');
    expect(await createZone('dup')).toMatchObject({ __typename: 'ConflictError' });
    const missing = await tcp.admin.request(`mutation { updateAvailabilityZone(ref: "nope", input: { description: "x" }) { ${RESULT} } }`);
    expect(missing.updateAvailabilityZone).toMatchObject({ __typename: 'NotFoundError', missing: 'ref' });
    expect(await tcp.db.sql`select name from availability_zones`).toEqual([{ name: 'dup' }]);
    await tcp.db.sql`delete from availability_zones`;
  });

  it('lets only admins write zones', async () => {
    await expect(member.request(`mutation { createAvailabilityZone(input: { name: "mine" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    expect(await tcp.db.sql`select 1 from availability_zones`).toHaveLength(0);
  });
});

async function createAggregate(input: Record<string, unknown>) {
  const r = await tcp.admin.request(
    `mutation($input: AggregateInput!) { createAggregate(input: $input) { ${RESULT} ... on CreateAggregateSuccess { ${AGGREGATE} } } }`,
    { input },
  );
  return r.createAggregate;
}

async function members(aggregateName: string): Promise<string[]> {
  const rows = await tcp.db.sql<{ name: string }[]>`
    select h.name from aggregate_hosts ah join aggregates a on a.id = ah.aggregate_id join hosts h on h.id = ah.host_id
     where a.name = ${aggregateName} order by h.name`;
  return rows.map((r) => r.name);
}

describe('aggregates', () => {
  it('creates an aggregate with metadata and hosts by name or ID, then changes its membership', async () => {
    const created = await createAggregate({ name: 'ssd', metadata: [{ key: 'disk', value: 'ssd' }], hosts: ['h1', hostIds.h2] });
    expect(created).toMatchObject({ __typename: 'CreateAggregateSuccess', aggregate: { name: 'ssd', hosts: ['h1', 'h2'] } });
    const [row] = await tcp.db.sql`select metadata from aggregates where name = 'ssd'`;
    expect(row!.metadata).toEqual({ disk: 'ssd' });
    expect(await members('ssd')).toEqual(['h1', 'h2']);

    const added = await tcp.admin.request(`mutation { addHostToAggregate(aggregate: "ssd", host: "h3") { ${RESULT} ... on AddHostToAggregateSuccess { ${AGGREGATE} } } }`);
    expect(added.addHostToAggregate.aggregate.hosts).toEqual(['h1', 'h2', 'h3']);
    const again = await tcp.admin.request(`mutation { addHostToAggregate(aggregate: "ssd", host: "h3") { ${RESULT} } }`);
    expect(again.addHostToAggregate.__typename).toBe('ConflictError');

    const removed = await tcp.admin.request(`mutation { removeHostFromAggregate(aggregate: "ssd", host: "h1") { ${RESULT} ... on RemoveHostFromAggregateSuccess { ${AGGREGATE} } } }`);
    expect(removed.removeHostFromAggregate.aggregate.hosts).toEqual(['h2', 'h3']);
    expect(await members('ssd')).toEqual(['h2', 'h3']);

    const updated = await tcp.admin.request(
      `mutation { updateAggregate(ref: "ssd", input: { name: "fast", hosts: ["h1"] }) { ${RESULT} ... on UpdateAggregateSuccess { ${AGGREGATE} } } }`,
    );
    expect(updated.updateAggregate.aggregate).toMatchObject({ name: 'fast', hosts: ['h1'], metadata: [{ key: 'disk', value: 'ssd' }] });
    expect(await members('fast')).toEqual(['h1']);

    const listed = await tcp.admin.request(`{ aggregates { name hosts } }`);
    expect(listed.aggregates).toEqual([{ name: 'fast', hosts: ['h1'] }]);

    const deleted = await tcp.admin.request(`mutation { deleteAggregate(ref: "fast") { ${RESULT} } }`);
    expect(deleted.deleteAggregate.__typename).toBe('DeleteAggregateSuccess');
    expect(await tcp.db.sql`select 1 from aggregates`).toHaveLength(0);
    expect(await tcp.db.sql`select 1 from aggregate_hosts`).toHaveLength(0);
  });

  it('names the unknown host by its index and writes nothing', async () => {
    const r = await createAggregate({ name: 'gpu', hosts: ['h1', 'ghost'] });
    expect(r).toMatchObject({ __typename: 'NotFoundError', missing: 'input.hosts[1]' });
    expect(await tcp.db.sql`select 1 from aggregates`).toHaveLength(0);

    await createAggregate({ name: 'gpu', hosts: ['h1'] });
    const u = await tcp.admin.request(`mutation { updateAggregate(ref: "gpu", input: { name: "gpu2", hosts: ["h2", "nope"] }) { ${RESULT} } }`);
    expect(u.updateAggregate).toMatchObject({ __typename: 'NotFoundError', missing: 'input.hosts[1]' });
    expect(await members('gpu')).toEqual(['h1']);

    const bad = await tcp.admin.request(`mutation { updateAggregate(ref: "gpu", input: { metadata: [{ key: "", value: "x" }] }) { ${RESULT} } }`);
    expect(bad.updateAggregate).toMatchObject({ __typename: 'ValidationError', field: 'input.metadata' });
    const missingHost = await tcp.admin.request(`mutation { addHostToAggregate(aggregate: "gpu", host: "ghost") { ${RESULT} } }`);
    expect(missingHost.addHostToAggregate).toMatchObject({ __typename: 'NotFoundError', missing: 'host' });
    const [row] = await tcp.db.sql`select name, metadata from aggregates`;
    expect(row).toEqual({ name: 'gpu', metadata: {} });
    await tcp.db.sql`delete from aggregates`;
  });

  it('is for admins only, reads included', async () => {
    await expect(member.request(`{ aggregates { name } }`)).rejects.toThrow(/not allowed/);
    await expect(member.request(`mutation { createAggregate(input: { name: "x" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    expect(await tcp.db.sql`select 1 from aggregates`).toHaveLength(0);
  });
});
