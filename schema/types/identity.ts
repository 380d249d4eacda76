import type { ProjectRow } from '../../store/rows.ts';
import type { Membership as MembershipView, UserWithRoles } from '../../store/users.ts';
import { builder } from '../builder.ts';

export const Project = builder.objectRef<ProjectRow>('Project').implement({
  description: 'A tenant: it owns instances and images; users act in it through their roles.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

const Membership = builder.objectRef<MembershipView>('Membership').implement({
  fields: (t) => ({
    project: t.field({ type: Project, resolve: (m) => m.project }),
    roles: t.exposeStringList('roles'),
  }),
});

export const User = builder.objectRef<UserWithRoles>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
    memberships: t.field({ type: [Membership], resolve: (u) => u.memberships }),
    roles: t.stringList({
      description: 'Roles held in one project (name or ID); none when not a member',
      args: { project: t.arg.string({ required: true }) },
      resolve: (u, { project }) =>
        u.memberships.find((m) => m.project.name === project || m.project.id === project.toLowerCase())?.roles ?? [],
    }),
  }),
});

export interface IssuedTokenView {
  id: string;
  secret: string;
  userId: string;
  projectId: string;
  description: string;
  expiresAt: Date | null;
}

export const IssuedToken = builder.objectRef<IssuedTokenView>('IssuedToken').implement({
  description: 'A new API token. The secret is shown this once; only its hash is kept.',
  fields: (t) => ({
    id: t.exposeID('id'),
    secret: t.exposeString('secret'),
    userId: t.exposeID('userId'),
    projectId: t.exposeID('projectId'),
    description: t.exposeString('description'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
  }),
});
