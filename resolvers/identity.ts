import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import {
  passwordSchema, projectSpecSchema, roleAssignmentSchema, tokenSpecSchema, userSpecSchema,
  type ProjectSpec, type RoleAssignment, type TokenSpec, type UserSpec,
} from '../schema/documents/identity.ts';
import { mutationErrors } from '../schema/errors.ts';
import { IssuedToken, Project, User } from '../schema/types/identity.ts';
import { findProject, findUser } from '../store/references.ts';
import type { ProjectRow } from '../store/rows.ts';
import { issueToken } from '../store/tokens.ts';
import { loadUsers } from '../store/users.ts';
import { setPassword } from '../store/passwords.ts';
import { compact } from './compact.ts';
import { requireUser } from './scope.ts';
import { foreignKeyViolation, uniqueViolation } from './sql-errors.ts';

const ProjectInput = builder.inputType('ProjectInput', {
  fields: (t) => ({ name: t.string({ required: true }), description: t.string() }),
});

const UserInput = builder.inputType('UserInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    project: t.string({ required: true, description: 'Project name or ID' }),
    roles: t.stringList({ required: true, description: 'reader, member and/or admin' }),
  }),
});

const RoleAssignmentInput = builder.inputType('RoleAssignmentInput', {
  fields: (t) => ({
    user: t.string({ required: true, description: 'User name or ID' }),
    project: t.string({ required: true, description: 'Project name or ID' }),
    role: t.string({ required: true, description: 'reader, member or admin' }),
  }),
});

const TokenInput = builder.inputType('TokenInput', {
  fields: (t) => ({
    user: t.string({ required: true, description: 'User name or ID' }),
    project: t.string({ required: true, description: 'Project name or ID the token acts in' }),
    description: t.string(),
    expiresAt: t.field({ type: 'DateTime', description: 'Never, when absent' }),
  }),
});

async function projectOf(tx: TxSql, ref: string, field: string) {
  const project = await findProject(tx, ref);
  if (!project) throw new NotFoundError('project', ref, field);
  return project;
}

async function userOf(tx: TxSql, ref: string, field: string) {
  const user = await findUser(tx, ref);
  if (!user) throw new NotFoundError('user', ref, field);
  return user;
}

async function loadUser(tx: TxSql, userId: string) {
  return (await loadUsers(tx, { userId }))[0]!;
}

function duplicate(e: unknown, what: string, name: string): never {
  if (uniqueViolation(e)) throw new ConflictError(`a ${what} named ${JSON.stringify(name)} already exists`);
  throw e;
}

builder.queryFields((t) => ({
  projects: t.field({
    type: [Project],
    authScopes: { policy: 'project:list' },
    resolve: (_r, _a, ctx) => ctx.sql<ProjectRow[]>`select * from projects order by name`,
  }),
  users: t.field({
    type: [User],
    args: { project: t.arg.string({ description: 'Only members of this project (name or ID)' }) },
    authScopes: { policy: 'user:list' },
    resolve: async (_r, { project }, ctx) => {
      if (!project) return loadUsers(ctx.sql);
      const found = await findProject(ctx.sql, project);
      if (!found) throw new NotFoundError('project', project, 'project');
      return loadUsers(ctx.sql, { projectId: found.id });
    },
  }),
}));

builder.mutationFields((t) => ({
  createProject: t.field({
    type: Project,
    args: { input: t.arg({ type: ProjectInput, required: true }) },
    authScopes: { policy: 'project:create' },
    errors: mutationErrors('CreateProject', 'project'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<ProjectSpec>(projectSpecSchema, compact(input));
      const [row] = await ctx.sql<ProjectRow[]>`
        insert into projects (name, description) values (${s.name}, ${s.description ?? ''}) returning *`
        .catch((e: unknown) => duplicate(e, 'project', s.name));
      return row!;
    },
  }),
  deleteProject: t.field({
    type: Project,
    description: 'Refused while the project owns instances or images; its role assignments and tokens go with it.',
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'project:delete' },
    errors: mutationErrors('DeleteProject', 'project'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const project = await projectOf(tx, ref, 'ref');
        // Deleting the caller's own project would revoke the very token in use (and lock out the last admin).
        if (project.id === requireUser(ctx).projectId) throw new ConflictError('you cannot delete the project your token acts in');
        const [owned] = await tx<{ instances: number; images: number }[]>`
          select (select count(*)::int from instances where project_id = ${project.id}) as instances,
                 (select count(*)::int from images where owner_project_id = ${project.id}) as images`;
        if (owned!.instances > 0 || owned!.images > 0) {
          throw new ConflictError(`project ${project.name} still owns ${owned!.instances} instance(s) and ${owned!.images} image(s)`);
        }
        await tx`delete from projects where id = ${project.id}`.catch((e: unknown) => {
          if (foreignKeyViolation(e)) throw new ConflictError(`project ${project.name} gained an instance or image; delete it first`);
          throw e;
        });
        return project;
      }),
  }),
  createUser: t.field({
    type: User,
    args: { input: t.arg({ type: UserInput, required: true }) },
    authScopes: { policy: 'user:create' },
    errors: mutationErrors('CreateUser', 'user'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<UserSpec>(userSpecSchema, compact(input));
      return ctx.sql.begin(async (tx) => {
        const project = await projectOf(tx, s.project, 'input.project');
        const [user] = await tx<{ id: string }[]>`insert into users (name) values (${s.name}) returning id`
          .catch((e: unknown) => duplicate(e, 'user', s.name));
        await tx`
          insert into role_assignments (user_id, project_id, role)
          select ${user!.id}, ${project.id}, unnest(${s.roles}::text[])`;
        return loadUser(tx, user!.id);
      });
    },
  }),
  assignRole: t.field({
    type: User,
    description: 'Gives the user a role in the project; assigning a role held already changes nothing.',
    args: { input: t.arg({ type: RoleAssignmentInput, required: true }) },
    authScopes: { policy: 'user:assign_role' },
    errors: mutationErrors('AssignRole', 'user'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<RoleAssignment>(roleAssignmentSchema, compact(input));
      return ctx.sql.begin(async (tx) => {
        const user = await userOf(tx, s.user, 'input.user');
        const project = await projectOf(tx, s.project, 'input.project');
        await tx`
          insert into role_assignments (user_id, project_id, role) values (${user.id}, ${project.id}, ${s.role})
          on conflict do nothing`;
        return loadUser(tx, user.id);
      });
    },
  }),
  revokeRole: t.field({
    type: User,
    args: { input: t.arg({ type: RoleAssignmentInput, required: true }) },
    authScopes: { policy: 'user:revoke_role' },
    errors: mutationErrors('RevokeRole', 'user'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<RoleAssignment>(roleAssignmentSchema, compact(input));
      return ctx.sql.begin(async (tx) => {
        const user = await userOf(tx, s.user, 'input.user');
        const project = await projectOf(tx, s.project, 'input.project');
        const gone = await tx`
          delete from role_assignments where user_id = ${user.id} and project_id = ${project.id} and role = ${s.role}
          returning role`;
        if (gone.length === 0) throw new NotFoundError('role assignment', `${s.role} of ${user.name} in ${project.name}`, 'input.role');
        return loadUser(tx, user.id);
      });
    },
  }),
  setUserPassword: t.field({
    type: User,
    description: 'Sets the password Identity v3 password auth (the OpenStack facade) checks: your own, or (admins) anyone\'s.',
    args: {
      user: t.arg.string({ required: true, description: 'User name or ID' }),
      password: t.arg.string({ required: true, description: '8 to 1024 characters; stored only as an scrypt hash' }),
    },
    authScopes: { policy: 'user:set_own_password' },
    errors: mutationErrors('SetUserPassword', 'user'),
    resolve: async (_r, args, ctx) => {
      const password = validate<string>(passwordSchema, args.password, 'password');
      const caller = requireUser(ctx);
      return ctx.sql.begin(async (tx) => {
        const user = await userOf(tx, args.user, 'user');
        if (user.id !== caller.userId && !ctx.policy.allows(ctx.principal, 'user:set_password')) {
          throw new ForbiddenError('setting another user\'s password needs the user:set_password rule');
        }
        await setPassword(tx, user.id, password);
        return loadUser(tx, user.id);
      });
    },
  }),
  createToken: t.field({
    type: IssuedToken,
    description: 'A user token acting in one project. The secret is returned once; store it now.',
    args: { input: t.arg({ type: TokenInput, required: true }) },
    authScopes: { policy: 'token:create' },
    errors: mutationErrors('CreateToken', 'token'),
    resolve: async (_r, { input }, ctx) => {
      const { expiresAt, ...rest } = input;
      const s = validate<TokenSpec>(tokenSpecSchema, compact(rest));
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw ValidationError.field('input.expiresAt', 'must be in the future');
      return ctx.sql.begin(async (tx) => {
        const user = await userOf(tx, s.user, 'input.user');
        const project = await projectOf(tx, s.project, 'input.project');
        const [member] = await tx`select 1 from role_assignments where user_id = ${user.id} and project_id = ${project.id} limit 1`;
        if (!member) throw ValidationError.field('input.project', `user ${user.name} holds no role in project ${project.name}`);
        const description = s.description ?? '';
        const token = await issueToken(tx, { kind: 'user', userId: user.id, projectId: project.id, description, expiresAt: expiresAt ?? undefined });
        return { ...token, userId: user.id, projectId: project.id, description, expiresAt: expiresAt ?? null };
      });
    },
  }),
}));
