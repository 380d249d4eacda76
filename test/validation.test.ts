import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
});
afterAll(async () => tcp?.stop());

async function tableCounts() {
  const [r] = await tcp.db.sql<{ instances: number; flavors: number; actions: number; jobs: number }[]>`
    select (select count(*)::int from instances) as instances, (select count(*)::int from flavors) as flavors,
           (select count(*)::int from instance_actions) as actions, (select count(*)::int from graphile_worker.jobs) as jobs`;
  return r!;
}

const good = { name: 'ok', flavor: 'm1.small', image: 'test-image' };

describe('bad input gets a typed error naming the field and writes nothing', () => {
  it.each([
    ['an unknown flavor', { ...good, flavor: 'm9.huge' }, 'NotFoundError', 'input.flavor'],
    ['an unknown image', { ...good, image: 'no-such-image' }, 'NotFoundError', 'input.image'],
    ['a zone that does not exist', { ...good, zone: 'atlantis' }, 'NotFoundError', 'input.zone'],
    ['a name too long', { ...good, name: 'x'.repeat(256) }, 'ValidationError', 'input.name'],
    ['an empty name', { ...good, name: '' }, 'ValidationError', 'input.name'],
    ['a control character in the name', { ...good, name: 'a\u0007b' }, 'ValidationError', 'input.name'],
    ['a repeated metadata key', { ...good, metadata: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }, 'ValidationError', 'input.metadata[1].key'],
  ])('createInstance with %s', async (_what, input, type, field) => {
    const before = await tableCounts();
    const r = await createInstance(tcp.admin, input);
    expect([r.__typename, r.field]).toEqual([type, field]);
    expect(await tableCounts()).toEqual(before);
  });

  it.each([
    ['negative RAM', { ramMb: -1 }, 'input.ramMb'],
    ['zero vCPUs', { vcpus: 0 }, 'input.vcpus'],
    ['negative disk', { diskGb: -5 }, 'input.diskGb'],
    ['a name too long', { name: 'f'.repeat(256) }, 'input.name'],
  ])('createFlavor with %s', async (_what, patch, field) => {
    const before = await tableCounts();
    const d = await tcp.admin.request(
      `mutation($i: FlavorInput!) { createFlavor(input: $i) { __typename ... on ValidationError { field issues { field message } } } }`,
      { i: { name: 'bad', vcpus: 1, ramMb: 64, diskGb: 1, ...patch } },
    );
    expect(d.createFlavor.__typename).toBe('ValidationError');
    expect(d.createFlavor.field).toBe(field);
    expect(await tableCounts()).toEqual(before);
  });

  it('refuses a duplicate flavor name as a conflict', async () => {
    const before = await tableCounts();
    const d = await tcp.admin.request(
      `mutation { createFlavor(input: {name: "m1.small", vcpus: 2, ramMb: 64, diskGb: 1}) { __typename ... on Error { message } } }`,
    );
    expect(d.createFlavor).toEqual({ __typename: 'ConflictError', message: 'a flavor named "m1.small" already exists' });
    expect(await tableCounts()).toEqual(before);
  });

  it('writes the spec, the action and the reconcile job together when the input is good', async () => {
    const before = await tableCounts();
    const r = await createInstance(tcp.admin, good);
    expect(r.__typename).toBe('CreateInstanceSuccess');
    const after = await tableCounts();
    expect([after.instances - before.instances, after.actions - before.actions, after.jobs - before.jobs]).toEqual([1, 1, 1]);
  });
});
