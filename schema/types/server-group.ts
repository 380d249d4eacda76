import type { ServerGroupRow } from '../../store/server-groups.ts';
import { builder } from '../builder.ts';

/** GraphQL names cannot hold '-': anti_affinity in the API is Nova's anti-affinity everywhere else. */
export const ServerGroupPolicyEnum = builder.enumType('ServerGroupPolicy', {
  values: {
    affinity: { value: 'affinity' },
    anti_affinity: { value: 'anti-affinity' },
    soft_affinity: { value: 'soft-affinity' },
    soft_anti_affinity: { value: 'soft-anti-affinity' },
  } as const,
});

export interface ServerGroupMemberRow {
  instance_id: string;
  name: string;
  host: string | null;
}

export type ServerGroupView = ServerGroupRow & { members: ServerGroupMemberRow[] };

const Member = builder.objectRef<ServerGroupMemberRow>('ServerGroupMember').implement({
  fields: (t) => ({
    instanceId: t.exposeID('instance_id'),
    name: t.exposeString('name'),
    host: t.exposeString('host', { nullable: true, description: 'Host name once placed' }),
  }),
});

const Rules = builder.objectRef<{ maxServerPerHost: number | null }>('ServerGroupRules').implement({
  fields: (t) => ({ maxServerPerHost: t.exposeInt('maxServerPerHost', { nullable: true, description: 'anti-affinity only; default 1' }) }),
});

export const ServerGroup = builder.objectRef<ServerGroupView>('ServerGroup').implement({
  description: 'Instances placed together (affinity) or apart (anti-affinity), strictly or as a preference (soft-).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    policy: t.field({ type: ServerGroupPolicyEnum, resolve: (g) => g.policy }),
    rules: t.field({ type: Rules, resolve: (g) => ({ maxServerPerHost: g.max_server_per_host }) }),
    projectId: t.exposeID('project_id'),
    members: t.field({ type: [Member], resolve: (g) => g.members }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

export const ServerGroupInput = builder.inputType('ServerGroupInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    policy: t.field({ type: ServerGroupPolicyEnum, required: true }),
    maxServerPerHost: t.int({ description: 'anti-affinity: members allowed per host (default 1)' }),
  }),
});
