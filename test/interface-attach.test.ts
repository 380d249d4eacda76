import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, updateInstance, waitFor } from './support/fixtures.ts';

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let member: OrreryClient;
let other: OrreryClient;
let vm = '';

const RESULT = `__typename ... on ValidationError { field message } ... on NotFoundError { field resource }
  ... on ConflictError { message currentState } ... on Error { message }`;
const ATTACHMENT = `attachment { port { id macAddress status instanceId fixedIps { ip } } action { id action state portId } }`;

async function attach(c: OrreryClient, instance: string, input: Record<string, unknown>) {
  const d = await c.request(`mutation($id: ID!, $i: InstanceNicInput!) { attachInterface(instance: $id, input: $i) { ${RESULT}
    ... on AttachInterfaceSuccess { ${ATTACHMENT} } } }`, { id: instance, i: input });
  return d.attachInterface;
}

async function detach(c: OrreryClient, instance: string, port: string) {
  const d = await c.request(`mutation($id: ID!, $p: ID!) { detachInterface(instance: $id, port: $p) { ${RESULT}
    ... on DetachInterfaceSuccess { ${ATTACHMENT} } } }`, { id: instance, p: port });
  return d.detachInterface;
}

async function create(c: OrreryClient, kind: 'Network' | 'Subnet' | 'Port', input: Record<string, unknown>): Promise<string> {
  const d = await c.request(`mutation($i: ${kind}Input!) { r: create${kind}(input: $i) { ${RESULT}
    ... on Create${kind}Success { made: ${kind.toLowerCase()} { id } } } }`, { i: input });
  if (!d.r.made) throw new Error(`create${kind}: ${JSON.stringify(d.r)}`);
  return d.r.made.id;
}

const row = (id: string) => instanceRow(tcp.db.sql, id);
const settled = (id: string, vm: string) => waitFor(`vm_state ${vm}`, () => row(id), (r) => r?.vm_state === vm && r.task_state === null);

/** The fake domain's NICs, from the host the instance is on. */
async function domainMacs(id: string): Promise<string[]> {
  const [h] = await tcp.db.sql<{ name: string }[]>`select h.name from instances i join hosts h on h.id = i.host_id where i.id = ${id}`;
  return hosts.find((x) => x.name === h!.name)!.driver.domains.get(id)?.interfaces.map((n) => n.mac) ?? [];
}

async function portRow(id: string) {
  const [p] = await tcp.db.sql<{ instance_id: string | null; status: string; created_by_instance: boolean; ips: string[] }[]>`
    select instance_id, status, created_by_instance, array(select host(ip) from port_ips where port_id = p.id order by ip) as ips
      from ports p where id = ${id}`;
  return p;
}

async function action(id: string) {
  const [a] = await tcp.db.sql<{ action: string; state: string; message: string | null }[]>`
    select action, state, message from instance_actions where id = ${id}`;
  const events = await tcp.db.sql<{ event: string; result: string; host_name: string | null }[]>`
    select event, result, host_name from instance_action_events where action_id = ${id} order by id`;
  return { ...a!, events };
}

/** Everything an attach or detach could write. */
async function world() {
  return {
    ports: await tcp.db.sql`select id, instance_id, status from ports order by id`,
    ips: await tcp.db.sql`select port_id, host(ip) as ip from port_ips order by port_id, ip`,
    // Ids only: the slow host's stop, still running, finishes its own action whenever it does.
    actions: await tcp.db.sql`select id from instance_actions order by id`,
  };
}

async function activeInstance(c: OrreryClient, name: string, zone: string): Promise<string> {
  const made = await createInstance(c, { name, flavor: 'i.small', image: 'test-image', zone, networks: [{ network: 'net-a' }] });
  expect(made.__typename).toBe('CreateInstanceSuccess');
  await settled(made.instance.id, 'active');
  return made.instance.id;
}

beforeAll(async () => {
  // A short deadline for the test of a host that never answers; builds take milliseconds here.
  tcp = await startTestControlPlane({ config: { spawnTimeoutSeconds: 10 } });
  await createFlavor(tcp.admin, 'i.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: member } = await tcp.userClient('ifp', 'ines', ['member']));
  ({ client: other } = await tcp.userClient('ifq', 'quinn', ['member']));
  hosts = await startFakeHosts(tcp.url, tcp.admin, [
    { name: 'if-fast', driver: { failAttach: /^no-slot/ } },
    // Slow enough that a power change is still its task when the next request comes.
    { name: 'if-slow', driver: { delayMs: 3000 } },
  ]);
  for (const [zone, host] of [['fast', 'if-fast'], ['slow', 'if-slow']]) {
    await tcp.admin.request(`mutation($z: String!) { createAvailabilityZone(input: { name: $z }) { __typename } }`, { z: zone });
    await tcp.admin.request(`mutation($h: String!, $z: String!) { updateHost(ref: $h, input: { zone: $z }) { __typename } }`, { h: host, z: zone });
  }
  for (const [c, net, cidr] of [[member, 'net-a', '10.20.0.0/24'], [other, 'net-o', '10.30.0.0/24']] as const) {
    await create(c, 'Network', { name: net });
    await create(c, 'Subnet', { network: net, cidr });
  }
  vm = await activeInstance(member, 'hot', 'fast');
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe('interface attach and detach', () => {
  it("builds the instance's NICs DOWN, then ACTIVE once the host reports them on the guest", async () => {
    const [first] = await tcp.db.sql<{ id: string; mac: string }[]>`select id, mac::text from ports where instance_id = ${vm}`;
    expect(await domainMacs(vm)).toEqual([first!.mac]);
    await waitFor('the first port ACTIVE', () => portRow(first!.id), (p) => p?.status === 'ACTIVE');
  });

  let attached = '';
  it('attaches a NIC to a running instance: the guest has it, the port is bound and ACTIVE, the action succeeds', async () => {
    const r = await attach(member, vm, { network: 'net-a', fixedIp: '10.20.0.40' });
    expect(r.__typename).toBe('AttachInterfaceSuccess');
    const { port, action: act } = r.attachment;
    attached = port.id;
    expect(port).toMatchObject({ instanceId: vm, status: 'DOWN', fixedIps: [{ ip: '10.20.0.40' }] });
    expect(act).toMatchObject({ action: 'attach-interface', state: 'running', portId: port.id });
    await waitFor('the NIC on the guest', () => domainMacs(vm), (macs) => macs.includes(port.macAddress));
    expect(await waitFor('the port ACTIVE', () => portRow(port.id), (p) => p?.status === 'ACTIVE')).toEqual({
      instance_id: vm, status: 'ACTIVE', created_by_instance: true, ips: ['10.20.0.40'],
    });
    expect(await waitFor('the attach done', () => action(act.id), (a) => a.state === 'succeeded')).toMatchObject({
      action: 'attach-interface',
      events: [
        { event: 'attach-interface', result: 'running', host_name: 'if-fast' },
        { event: 'attach-interface', result: 'success', host_name: 'if-fast' },
      ],
    });
    // A NIC changes nothing of the instance's own state.
    expect(await row(vm)).toMatchObject({ vm_state: 'active', task_state: null, power_state: 'running' });
  });

  it('detaches it: off the guest, the port deleted and its address released', async () => {
    const { mac } = (await tcp.db.sql<{ mac: string }[]>`select mac::text from ports where id = ${attached}`)[0]!;
    const r = await detach(member, vm, attached);
    expect(r.__typename).toBe('DetachInterfaceSuccess');
    expect(r.attachment.port).toMatchObject({ id: attached, instanceId: null });
    expect(await portRow(attached)).toBeUndefined();
    expect(await tcp.db.sql`select 1 from port_ips where port_id = ${attached} or host(ip) = '10.20.0.40'`).toHaveLength(0);
    await waitFor('the NIC off the guest', () => domainMacs(vm), (macs) => !macs.includes(mac));
    expect(await waitFor('the detach done', () => action(r.attachment.action.id), (a) => a.state === 'succeeded')).toMatchObject({
      action: 'detach-interface',
      events: [{ result: 'running' }, { result: 'success', host_name: 'if-fast' }],
    });
    // The address is free again.
    const again = await attach(member, vm, { network: 'net-a', fixedIp: '10.20.0.40' });
    expect(again.__typename).toBe('AttachInterfaceSuccess');
    expect((await detach(member, vm, again.attachment.port.id)).__typename).toBe('DetachInterfaceSuccess');
  });

  it("a user's own port goes onto a stopped instance's definition and, detached, is kept with its address", async () => {
    const own = await create(member, 'Port', { network: 'net-a', name: 'mine' });
    const before = (await portRow(own))!;
    expect(before).toMatchObject({ instance_id: null, status: 'DOWN', created_by_instance: false });
    expect((await updateInstance(member, vm, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    await settled(vm, 'stopped');
    const r = await attach(member, vm, { port: own });
    expect(r.__typename).toBe('AttachInterfaceSuccess');
    await waitFor('the NIC in the definition', () => domainMacs(vm), (macs) => macs.includes(r.attachment.port.macAddress));
    await waitFor('the port ACTIVE', () => portRow(own), (p) => p?.status === 'ACTIVE' && p.instance_id === vm);
    const d = await detach(member, vm, own);
    expect(d.__typename).toBe('DetachInterfaceSuccess');
    await waitFor('the NIC gone', () => domainMacs(vm), (macs) => !macs.includes(r.attachment.port.macAddress));
    expect(await portRow(own)).toEqual(before);
    await waitFor('the detach done', () => action(d.attachment.action.id), (a) => a.state === 'succeeded');
    expect((await updateInstance(member, vm, { powerState: 'running' })).__typename).toBe('UpdateInstanceSuccess');
    await settled(vm, 'active');
  });

  it('refuses, typed and writing nothing: bad input, what is not yours or not there, a port in use, an instance in a task', async () => {
    const busy = await activeInstance(member, 'busy', 'slow');
    const [elsewhere] = await tcp.db.sql<{ id: string }[]>`select id from ports where instance_id = ${busy}`;
    const spare = await create(member, 'Port', { network: 'net-a', name: 'spare' });
    expect((await updateInstance(member, busy, { powerState: 'stopped' })).__typename).toBe('UpdateInstanceSuccess');
    const before = await world();
    const cases: [() => Promise<{ __typename: string }>, Record<string, unknown>][] = [
      [() => attach(member, vm, { network: 'net-o' }), { __typename: 'NotFoundError', field: 'input.network', resource: 'network' }],
      [() => attach(member, vm, { port: randomUUID() }), { __typename: 'NotFoundError', field: 'input.port', resource: 'port' }],
      [() => attach(member, vm, { port: elsewhere!.id }), { __typename: 'ConflictError', message: expect.stringMatching(/attached to instance/) }],
      [() => attach(member, vm, { network: 'net-a', port: spare }), { __typename: 'ValidationError', field: 'input' }],
      [() => attach(member, vm, { network: 'net-a', fixedIp: '10.99.0.5' }), { __typename: 'ValidationError', field: 'input.fixedIp' }],
      // The first NIC holds the pool's first address: taken, found out by the insert, rolled back.
      [() => attach(member, vm, { network: 'net-a', fixedIp: '10.20.0.3' }), { __typename: 'ValidationError', field: 'input.fixedIp' }],
      [() => attach(other, vm, { network: 'net-o' }), { __typename: 'NotFoundError', field: 'instance', resource: 'instance' }],
      [() => attach(member, busy, { network: 'net-a' }), {
        __typename: 'ConflictError',
        message: 'cannot attach an interface to instance busy while task powering-off runs',
        currentState: 'vm_state=active, task_state=powering-off',
      }],
      [() => detach(member, busy, elsewhere!.id), { __typename: 'ConflictError', message: expect.stringMatching(/while task powering-off/) }],
      [() => detach(member, vm, elsewhere!.id), { __typename: 'NotFoundError', field: 'port' }],
      [() => detach(member, vm, spare), { __typename: 'NotFoundError', field: 'port' }],
      [() => detach(other, vm, elsewhere!.id), { __typename: 'NotFoundError', field: 'instance' }],
    ];
    for (const [call, expected] of cases) expect(await call()).toMatchObject(expected);
    expect(await world()).toEqual(before);
    expect(await row(busy)).toMatchObject({ task_state: 'powering-off' });
    await settled(busy, 'stopped');
  });

  it('a NIC the host fails to plug: the attach fails with its reason; the port stays bound, DOWN', async () => {
    const id = await activeInstance(member, 'no-slot', 'fast');
    const r = await attach(member, id, { network: 'net-a' });
    expect(r.__typename).toBe('AttachInterfaceSuccess');
    const failed = await waitFor('the attach failed', () => action(r.attachment.action.id), (a) => a.state === 'failed');
    expect(failed).toMatchObject({
      message: 'fake driver has no free slot for a NIC on no-slot',
      events: [{ result: 'running' }, { result: 'error', host_name: 'if-fast' }],
    });
    expect(await portRow(r.attachment.port.id)).toMatchObject({ instance_id: id, status: 'DOWN' });
    expect(await domainMacs(id)).not.toContain(r.attachment.port.macAddress);
  });

  it('a host that never answers: the attach fails at its deadline; the port stays as asked', async () => {
    const id = (await tcp.db.sql<{ id: string }[]>`select id from instances where name = 'busy'`)[0]!.id;
    await hosts.find((h) => h.name === 'if-slow')!.agent.stop();
    const r = await attach(member, id, { network: 'net-a' });
    expect(r.__typename).toBe('AttachInterfaceSuccess');
    const failed = await waitFor('the deadline', () => action(r.attachment.action.id), (a) => a.state === 'failed', 20_000);
    expect(failed.message).toBe('the host did not plug the interface within 10 s');
    expect(await portRow(r.attachment.port.id)).toMatchObject({ instance_id: id, status: 'DOWN' });
  });
});

describe('NIC order', () => {
  /** The instance's ports as the API lists them, and their device indexes as stored. */
  async function ports(id: string) {
    const d = await member.request(`query($id: ID!) { instance(id: $id) { ports { id macAddress networkName deviceIndex } } }`, { id });
    return d.instance.ports as { id: string; macAddress: string; networkName: string; deviceIndex: number }[];
  }

  it('the guest gets its NICs in the order asked, whatever the networks; an attached one comes last and a detach renumbers none', async () => {
    await create(member, 'Network', { name: 'net-b' });
    await create(member, 'Subnet', { network: 'net-b', cidr: '10.21.0.0/24' });
    // Two instances asking in opposite orders: one of them is against the networks' id order.
    const ids: string[] = [];
    for (const [name, order] of [['ab', ['net-a', 'net-b']], ['ba', ['net-b', 'net-a']]] as const) {
      const made = await createInstance(member, { name, flavor: 'i.small', image: 'test-image', zone: 'fast', networks: order.map((network) => ({ network })) });
      expect(made.__typename).toBe('CreateInstanceSuccess');
      await settled(made.instance.id, 'active');
      const listed = await ports(made.instance.id);
      expect(listed.map((p) => [p.networkName, p.deviceIndex])).toEqual([[order[0], 0], [order[1], 1]]);
      expect(await domainMacs(made.instance.id)).toEqual(listed.map((p) => p.macAddress));
      ids.push(made.instance.id);
    }
    const vmBa = ids[1]!;
    const r = await attach(member, vmBa, { network: 'net-a' });
    expect(r.__typename).toBe('AttachInterfaceSuccess');
    await waitFor('the attach done', () => action(r.attachment.action.id), (a) => a.state === 'succeeded');
    const [first, second, third] = await ports(vmBa);
    expect([first!.deviceIndex, second!.deviceIndex, third]).toEqual([0, 1, expect.objectContaining({ id: r.attachment.port.id, deviceIndex: 2 })]);
    expect(await domainMacs(vmBa)).toEqual([first!.macAddress, second!.macAddress, third!.macAddress]);

    const off = await detach(member, vmBa, first!.id);
    expect(off.__typename).toBe('DetachInterfaceSuccess');
    await waitFor('the NIC off the guest', () => domainMacs(vmBa), (macs) => !macs.includes(first!.macAddress));
    expect((await ports(vmBa)).map((p) => [p.id, p.deviceIndex])).toEqual([[second!.id, 1], [third!.id, 2]]);
    expect(await domainMacs(vmBa)).toEqual([second!.macAddress, third!.macAddress]);
  });
});
