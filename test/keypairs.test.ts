import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrreryClient } from '../client/graphql.ts';
import { agentView } from '../store/agent-view.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { createFlavor, createInstance, seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let alice: OrreryClient;
let bob: OrreryClient;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  await createFlavor(tcp.admin, 'k.small', 1, 256, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  ({ client: alice } = await tcp.userClient('keys', 'alice', ['member']));
  ({ client: bob } = await tcp.userClient('keys', 'bob', ['member']));
});
afterAll(async () => {
  await tcp?.stop();
});

const CREATE = `mutation($i: KeyPairInput!) { createKeyPair(input: $i) { __typename
  ... on CreateKeyPairSuccess { keyPair { name publicKey fingerprint privateKey } }
  ... on ValidationError { field message } ... on Error { message } } }`;

// A real ed25519 public key (its blob names its type), and its MD5 fingerprint computed here.
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkpX5iJ0Ay1L4+kp0y5C4u3VwA3fPq6lOq0TyI2fR1d alice@laptop';
const md5 = (b64: string) => createHash('md5').update(Buffer.from(b64, 'base64')).digest('hex').match(/../g)!.join(':');

describe('key pairs', () => {
  it('imports a public key with its fingerprint', async () => {
    const d = await alice.request(CREATE, { i: { name: 'laptop', publicKey: ED25519 } });
    expect(d.createKeyPair.keyPair).toEqual({ name: 'laptop', publicKey: ED25519, fingerprint: md5(ED25519.split(' ')[1]!), privateKey: null });
  });

  it('generates a pair and shows the private key once', async () => {
    const d = await alice.request(CREATE, { i: { name: 'generated' } });
    const k = d.createKeyPair.keyPair;
    expect(k.publicKey).toMatch(/^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ generated@orrery$/);
    expect(k.privateKey).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(k.fingerprint).toBe(md5(k.publicKey.split(' ')[1]));
    const list = await alice.request('{ keyPairs { name privateKey } }');
    expect(list.keyPairs).toEqual([{ name: 'generated', privateKey: null }, { name: 'laptop', privateKey: null }]);
  });

  it('refuses a malformed key or name naming the field, and a duplicate name', async () => {
    const bad = await alice.request(CREATE, { i: { name: 'x', publicKey: 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGkp' } });
    expect(bad.createKeyPair).toMatchObject({ __typename: 'ValidationError', field: 'input.publicKey', message: 'input.publicKey: key data is not a ssh-rsa key' });
    const name = await alice.request(CREATE, { i: { name: 'no/slash' } });
    expect(name.createKeyPair).toMatchObject({ __typename: 'ValidationError', field: 'input.name' });
    const dup = await alice.request(CREATE, { i: { name: 'laptop', publicKey: ED25519 } });
    expect(dup.createKeyPair.__typename).toBe('ConflictError');
  });

  it("are per user: bob sees none of alice's and cannot use them", async () => {
    expect((await bob.request('{ keyPairs { name } }')).keyPairs).toEqual([]);
    const r = await createInstance(bob, { name: 'b1', flavor: 'k.small', image: 'test-image', keyName: 'laptop' });
    expect(r).toMatchObject({ __typename: 'NotFoundError', field: 'input.keyName' });
  });

  it("reaches the agent as the instance's key pair, apart from its metadata, and survives the key pair's deletion", async () => {
    const r = await createInstance(alice, { name: 'a1', flavor: 'k.small', image: 'test-image', keyName: 'laptop', metadata: [{ key: 'role', value: 'web' }] });
    const del = await alice.request('mutation { deleteKeyPair(name: "laptop") { __typename } }');
    expect(del.deleteKeyPair.__typename).toBe('DeleteKeyPairSuccess');
    const [h] = await tcp.db.sql<{ id: string }[]>`insert into hosts (name) values ('key-host') returning id`;
    await tcp.db.sql`update instances set host_id = ${h!.id} where id = ${r.instance.id}`;
    const view = await agentView(tcp.db.sql, h!.id);
    expect(view.instances[0]).toMatchObject({ metadata: { role: 'web' }, key_name: 'laptop', key_data: ED25519 });
  });
});
