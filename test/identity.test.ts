import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { hashSecret } from '../store/tokens.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';

let tcp: TestControlPlane;
let member: OrreryClient;

const RESULT = `__typename
  ... on Error { message }
  ... on ValidationError { field }
  ... on NotFoundError { missing: field }`;
const USER = `user { id name memberships { project { name } roles } }`;

beforeAll(async () => {
  tcp = await startTestControlPlane({ worker: false });
  member = (await tcp.userClient('tenant', 'mallory', ['member'])).client;
});
afterAll(async () => tcp.stop());

const roleRows = (user: string) => tcp.db.sql<{ project: string; role: string }[]>`
  select p.name as project, r.role from role_assignments r
    join users u on u.id = r.user_id join projects p on p.id = r.project_id
   where u.name = ${user} order by p.name, r.role`;

describe('projects', () => {
  it('creates, lists and deletes a project', async () => {
    const created = await tcp.admin.request(`mutation { createProject(input: { name: "web", description: "front ends" }) { ${RESULT} ... on CreateProjectSuccess { project { id name } } } }`);
    expect(created.createProject).toMatchObject({ __typename: 'CreateProjectSuccess', project: { name: 'web' } });
    expect(await tcp.db.sql`select description from projects where name = 'web'`).toEqual([{ description: 'front ends' }]);
    const { projects } = await tcp.admin.request(`{ projects { name } }`);
    expect(projects.map((p: { name: string }) => p.name)).toEqual(['admin', 'tenant', 'web']);

    const dup = await tcp.admin.request(`mutation { createProject(input: { name: "web" }) { ${RESULT} } }`);
    expect(dup.createProject.__typename).toBe('ConflictError');
    const bad = await tcp.admin.request(`mutation { createProject(input: { name: "no spaces" }) { ${RESULT} } }`);
    expect(bad.createProject).toMatchObject({ __typename: 'ValidationError', field: 'input.name' });

    const deleted = await tcp.admin.request(`mutation { deleteProject(ref: "${created.createProject.project.id}") { ${RESULT} } }`);
    expect(deleted.deleteProject.__typename).toBe('DeleteProjectSuccess');
    expect(await tcp.db.sql`select name from projects order by name`).toEqual([{ name: 'admin' }, { name: 'tenant' }]);
  });

  it('refuses to delete a project that owns images or instances, or the caller own project', async () => {
    const [p] = await tcp.db.sql<{ id: string }[]>`insert into projects (name) values ('busy') returning id`;
    await tcp.db.sql`insert into images (name, owner_project_id, disk_format) values ('img', ${p!.id}, 'raw')`;
    const r = await tcp.admin.request(`mutation { deleteProject(ref: "busy") { ${RESULT} } }`);
    expect(r.deleteProject).toMatchObject({ __typename: 'ConflictError', message: expect.stringContaining('1 image(s)') });
    expect(await tcp.db.sql`select 1 from projects where name = 'busy'`).toHaveLength(1);

    const own = await tcp.admin.request(`mutation { deleteProject(ref: "admin") { ${RESULT} } }`);
    expect(own.deleteProject.__typename).toBe('ConflictError');
    const missing = await tcp.admin.request(`mutation { deleteProject(ref: "nowhere") { ${RESULT} } }`);
    expect(missing.deleteProject).toMatchObject({ __typename: 'NotFoundError', missing: 'ref' });
  });
});

describe('users and roles', () => {
  it('creates a user with roles in a project, then assigns and revokes roles', async () => {
    const created = await tcp.admin.request(`mutation { createUser(input: { name: "carol", project: "tenant", roles: ["reader", "member"] }) { ${RESULT} ... on CreateUserSuccess { ${USER} } } }`);
    expect(created.createUser).toMatchObject({ __typename: 'CreateUserSuccess', user: { name: 'carol', memberships: [{ project: { name: 'tenant' }, roles: ['member', 'reader'] }] } });
    expect(await roleRows('carol')).toEqual([{ project: 'tenant', role: 'member' }, { project: 'tenant', role: 'reader' }]);

    const assigned = await tcp.admin.request(`mutation { assignRole(input: { user: "carol", project: "admin", role: "reader" }) { ${RESULT} ... on AssignRoleSuccess { ${USER} } } }`);
    expect(assigned.assignRole.user.memberships).toEqual([
      { project: { name: 'admin' }, roles: ['reader'] },
      { project: { name: 'tenant' }, roles: ['member', 'reader'] },
    ]);
    const revoked = await tcp.admin.request(`mutation { revokeRole(input: { user: "carol", project: "tenant", role: "member" }) { ${RESULT} } }`);
    expect(revoked.revokeRole.__typename).toBe('RevokeRoleSuccess');
    expect(await roleRows('carol')).toEqual([{ project: 'admin', role: 'reader' }, { project: 'tenant', role: 'reader' }]);
    const twice = await tcp.admin.request(`mutation { revokeRole(input: { user: "carol", project: "tenant", role: "member" }) { ${RESULT} } }`);
    expect(twice.revokeRole).toMatchObject({ __typename: 'NotFoundError', missing: 'input.role' });

    const { users } = await tcp.admin.request(`{ users(project: "tenant") { name roles(project: "tenant") } }`);
    expect(users).toEqual([{ name: 'carol', roles: ['reader'] }, { name: 'mallory', roles: ['member'] }]);
  });

  it('rejects bad input naming the field and writes nothing', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: 'dave', project: 'tenant', roles: ['owner'] }, 'ValidationError', 'input.roles.0'],
      [{ name: 'dave', project: 'tenant', roles: [] }, 'ValidationError', 'input.roles'],
      [{ name: '-dave', project: 'tenant', roles: ['reader'] }, 'ValidationError', 'input.name'],
      [{ name: 'dave', project: 'atlantis', roles: ['reader'] }, 'NotFoundError', 'input.project'],
    ];
    for (const [input, type, field] of cases) {
      const r = await tcp.admin.request(`mutation($input: UserInput!) { createUser(input: $input) { ${RESULT} } }`, { input });
      expect(r.createUser.__typename).toBe(type);
      expect(r.createUser.field ?? r.createUser.missing).toBe(field);
    }
    const dup = await tcp.admin.request(`mutation { createUser(input: { name: "mallory", project: "tenant", roles: ["reader"] }) { ${RESULT} } }`);
    expect(dup.createUser.__typename).toBe('ConflictError');
    expect(await tcp.db.sql`select 1 from users where name = 'dave'`).toHaveLength(0);

    const role = await tcp.admin.request(`mutation { assignRole(input: { user: "mallory", project: "tenant", role: "root" }) { ${RESULT} } }`);
    expect(role.assignRole).toMatchObject({ __typename: 'ValidationError', field: 'input.role' });
    const who = await tcp.admin.request(`mutation { assignRole(input: { user: "nobody", project: "tenant", role: "admin" }) { ${RESULT} } }`);
    expect(who.assignRole).toMatchObject({ __typename: 'NotFoundError', missing: 'input.user' });
    expect(await roleRows('mallory')).toEqual([{ project: 'tenant', role: 'member' }]);
  });

  it('keeps identity administration to admins', async () => {
    await expect(member.request(`{ projects { name } }`)).rejects.toThrow(/not allowed/);
    await expect(member.request(`{ users { name } }`)).rejects.toThrow(/not allowed/);
    await expect(member.request(`mutation { createProject(input: { name: "rogue" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    await expect(member.request(`mutation { assignRole(input: { user: "mallory", project: "tenant", role: "admin" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    await expect(member.request(`mutation { createToken(input: { user: "mallory", project: "tenant" }) { __typename } }`)).rejects.toThrow(/not allowed/);
    expect(await tcp.db.sql`select 1 from projects where name = 'rogue'`).toHaveLength(0);
    expect(await roleRows('mallory')).toEqual([{ project: 'tenant', role: 'member' }]);
  });
});

describe('tokens', () => {
  it('issues a token whose secret is shown once, stored only as a hash, and works', async () => {
    await tcp.admin.request(`mutation { createUser(input: { name: "erin", project: "tenant", roles: ["reader"] }) { __typename } }`);
    const r = await tcp.admin.request(`mutation { createToken(input: { user: "erin", project: "tenant", description: "ci" }) { ${RESULT} ... on CreateTokenSuccess { token { id secret description expiresAt } } } }`);
    const token = r.createToken.token;
    expect(token).toMatchObject({ description: 'ci', expiresAt: null, secret: expect.stringMatching(/^orr_u_/) });
    const [row] = await tcp.db.sql<{ secret_hash: Buffer; description: string }[]>`select secret_hash, description from tokens where id = ${token.id}`;
    expect(row!.secret_hash).toEqual(hashSecret(token.secret));
    const [stored] = await tcp.db.sql<{ row: string }[]>`select to_jsonb(t)::text as row from tokens t where id = ${token.id}`;
    expect(stored!.row).not.toContain(token.secret);

    const erin = new OrreryClient(tcp.url, token.secret);
    expect((await erin.request(`{ whoami { userName roles } }`)).whoami).toEqual({ userName: 'erin', roles: ['reader'] });
    await expect(erin.request(`mutation { createImage(input: { name: "x", diskFormat: "raw" }) { __typename } }`)).rejects.toThrow(/not allowed/);
  });

  it('refuses a past expiry, a project the user is not in, and unknown users', async () => {
    const before = await tcp.db.sql`select count(*)::int as n from tokens`;
    const past = await tcp.admin.request(`mutation { createToken(input: { user: "erin", project: "tenant", expiresAt: "2000-01-01T00:00:00Z" }) { ${RESULT} } }`);
    expect(past.createToken).toMatchObject({ __typename: 'ValidationError', field: 'input.expiresAt' });
    const outsider = await tcp.admin.request(`mutation { createToken(input: { user: "erin", project: "admin" }) { ${RESULT} } }`);
    expect(outsider.createToken).toMatchObject({ __typename: 'ValidationError', field: 'input.project' });
    // A date JavaScript holds but PostgreSQL cannot read was an internal error (found by test/mutation-fuzz.test.ts).
    const far = await tcp.admin.request(`mutation($at: DateTime) { createToken(input: { user: "erin", project: "tenant", expiresAt: $at }) { __typename } }`, { at: '+275760-09-13T00:00:00.000Z' })
      .catch((e: unknown) => e);
    expect(far).toBeInstanceOf(GraphqlRequestError);
    expect((far as GraphqlRequestError).code).toBe('BAD_USER_INPUT');
    expect((far as GraphqlRequestError).message).toMatch(/not a timestamp from year 1 to 9999/);
    const ghost = await tcp.admin.request(`mutation { createToken(input: { user: "ghost", project: "tenant" }) { ${RESULT} } }`);
    expect(ghost.createToken).toMatchObject({ __typename: 'NotFoundError', missing: 'input.user' });
    expect(await tcp.db.sql`select count(*)::int as n from tokens`).toEqual(before);

    const future = new Date(Date.now() + 3600_000).toISOString();
    const ok = await tcp.admin.request(`mutation($at: DateTime) { createToken(input: { user: "erin", project: "tenant", expiresAt: $at }) { ... on CreateTokenSuccess { token { id expiresAt } } } }`, { at: future });
    expect(ok.createToken.token.expiresAt).toBe(future);
    const [row] = await tcp.db.sql<{ expires_at: Date }[]>`select expires_at from tokens where id = ${ok.createToken.token.id}`;
    expect(row!.expires_at.toISOString()).toBe(future);
  });
});
