import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let member: { client: OrreryClient; projectId: string };
let reader: { client: OrreryClient };
let flavorId: string;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  flavorId = await createFlavor(tcp.admin, 'm1.rec', 1, 256, 1);
  member = await tcp.userClient('green', 'bob', ['member']);
  reader = await tcp.userClient('green', 'carol', ['reader']);
});
afterAll(async () => {
  await tcp?.stop();
});

const RECORD = `mutation($i: StackResourceInput!) { recordStackResource(input: $i) {
  __typename ... on RecordStackResourceSuccess { stackResource { kind name resourceId applied } }
  ... on ValidationError { field } ... on NotFoundError { field } } }`;
const FORGET = `mutation($s: String!, $n: String!) { forgetStackResource(stack: $s, kind: flavor, name: $n) {
  __typename ... on NotFoundError { field } } }`;
const spec = { name: 'm1.rec', vcpus: 1, ramMb: 256, diskGb: 1 };
const rows = () => tcp.db.sql`select stack, kind, name, resource_id, applied from stack_resources where project_id = ${member.projectId} order by kind, name`;

describe('recordStackResource / forgetStackResource', () => {
  it('refuses, naming the field and writing nothing: a bad stack name, an applied spec its kind rejects, another name', async () => {
    const [badStack, badSpec, otherName, reading] = await Promise.all([
      member.client.request(RECORD, { i: { stack: 'no spaces', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: spec } }),
      member.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: { ...spec, vcpus: 'one' } } }),
      member.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: { ...spec, name: 'm1.other' } } }),
      reader.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: spec } }).catch((e: Error) => e),
    ]);
    expect(badStack.recordStackResource).toEqual({ __typename: 'ValidationError', field: 'input.stack' });
    expect(badSpec.recordStackResource).toEqual({ __typename: 'ValidationError', field: 'input.applied.vcpus' });
    expect(otherName.recordStackResource).toEqual({ __typename: 'ValidationError', field: 'input.applied.name' });
    expect(String(reading)).toMatch(/not allowed: Mutation.recordStackResource/);
    expect(await rows()).toEqual([]);
  });

  it('records, updates in place, and forgets once', async () => {
    await member.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: spec } });
    const again = await member.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: { ...spec, description: '' } } });
    expect(again.recordStackResource.stackResource).toEqual({ kind: 'flavor', name: 'm1.rec', resourceId: flavorId, applied: { ...spec, description: '' } });
    expect(await rows()).toEqual([{ stack: 's', kind: 'flavor', name: 'm1.rec', resource_id: flavorId, applied: { ...spec, description: '' } }]);
    const seen = await member.client.request(`{ stack(name: "s") { name resources { kind name } } }`);
    expect(seen.stack).toEqual({ name: 's', resources: [{ kind: 'flavor', name: 'm1.rec' }] });

    expect((await member.client.request(FORGET, { s: 's', n: 'm1.rec' })).forgetStackResource.__typename).toBe('ForgetStackResourceSuccess');
    expect(await rows()).toEqual([]);
    expect((await member.client.request(FORGET, { s: 's', n: 'm1.rec' })).forgetStackResource).toEqual({ __typename: 'NotFoundError', field: 'name' });
    expect((await tcp.db.sql`select 1 from flavors where id = ${flavorId}`).length).toBe(1);
  });

  it('lets an admin record a private flavor it created (the flavor list shows admins every flavor); a member cannot claim it', async () => {
    const made = await tcp.admin.request(`mutation { createFlavor(input: { name: "m1.private", vcpus: 1, ramMb: 256, diskGb: 1, isPublic: false }) {
      ... on CreateFlavorSuccess { flavor { id } } } }`);
    const id = made.createFlavor.flavor.id as string;
    const privateSpec = { name: 'm1.private', vcpus: 1, ramMb: 256, diskGb: 1, isPublic: false };
    const byAdmin = await tcp.admin.request(RECORD, { i: { stack: 'ops', kind: 'flavor', name: 'm1.private', resourceId: id, applied: privateSpec } });
    expect(byAdmin.recordStackResource.__typename).toBe('RecordStackResourceSuccess');
    expect(await tcp.db.sql`select stack, name from stack_resources where resource_id = ${id}`).toEqual([{ stack: 'ops', name: 'm1.private' }]);

    const byMember = await member.client.request(RECORD, { i: { stack: 's', kind: 'flavor', name: 'm1.private', resourceId: id, applied: privateSpec } });
    expect(byMember.recordStackResource).toEqual({ __typename: 'NotFoundError', field: 'input.resourceId' });
    expect(await rows()).toEqual([]);
  });

  it("records the project's own networks, subnets and security groups; another project's are not found", async () => {
    const made = await member.client.request(`mutation { createNetwork(input: { name: "rec-net" }) { ... on CreateNetworkSuccess { network { id } } } }`);
    const networkId = made.createNetwork.network.id as string;
    const sub = await member.client.request(`mutation { createSubnet(input: { network: "rec-net", name: "rec-a", cidr: "10.5.0.0/24" }) {
      ... on CreateSubnetSuccess { subnet { id } } } }`);
    const subnetId = sub.createSubnet.subnet.id as string;
    const grp = await member.client.request(`mutation { createSecurityGroup(input: { name: "rec-g" }) { ... on CreateSecurityGroupSuccess { securityGroup { id } } } }`);
    const groupId = grp.createSecurityGroup.securityGroup.id as string;
    const net = { stack: 's', kind: 'network', name: 'rec-net', resourceId: networkId, applied: { name: 'rec-net' } };
    const subnet = { stack: 's', kind: 'subnet', name: 'rec-a', resourceId: subnetId, applied: { name: 'rec-a', network: 'rec-net', cidr: '10.5.0.0/24' } };
    const other = await tcp.userClient('red', 'dave', ['member']);
    const group = { stack: 's', kind: 'securityGroup', name: 'rec-g', resourceId: groupId, applied: { name: 'rec-g', rules: [{ direction: 'egress' }] } };
    for (const i of [net, subnet, group]) {
      expect((await other.client.request(RECORD, { i })).recordStackResource).toEqual({ __typename: 'NotFoundError', field: 'input.resourceId' });
      expect((await member.client.request(RECORD, { i })).recordStackResource.__typename).toBe('RecordStackResourceSuccess');
    }
    expect(await rows()).toEqual([
      { stack: 's', kind: 'network', name: 'rec-net', resource_id: networkId, applied: net.applied },
      { stack: 's', kind: 'securityGroup', name: 'rec-g', resource_id: groupId, applied: group.applied },
      { stack: 's', kind: 'subnet', name: 'rec-a', resource_id: subnetId, applied: subnet.applied },
    ]);
    expect(await tcp.db.sql`select 1 from stack_resources where project_id = ${other.projectId}`).toEqual([]);
  });
});
