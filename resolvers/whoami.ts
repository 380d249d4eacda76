import { builder } from '../schema/builder.ts';

const Whoami = builder.objectRef<{ kind: string; userName: string | null; projectId: string | null; roles: string[]; hostId: string | null; allowed: string[] }>('Whoami').implement({
  description: 'The caller behind the bearer token.',
  fields: (t) => ({
    kind: t.exposeString('kind'),
    userName: t.exposeString('userName', { nullable: true }),
    projectId: t.exposeID('projectId', { nullable: true }),
    roles: t.exposeStringList('roles'),
    hostId: t.exposeID('hostId', { nullable: true }),
    allowed: t.exposeStringList('allowed', {
      description: 'The policy rules the caller satisfies (e.g. instance:migrate): what a client may offer it',
    }),
  }),
});

builder.queryField('whoami', (t) =>
  t.field({
    type: Whoami,
    authScopes: { policy: 'whoami' },
    resolve: (_r, _a, { principal: p, policy }) => ({
      kind: p.kind,
      userName: p.kind === 'user' ? p.userName : null,
      projectId: p.kind === 'user' ? p.projectId : null,
      roles: p.kind === 'user' ? p.roles : [],
      hostId: p.kind === 'host' ? p.hostId : null,
      allowed: policy.allowedRules(p),
    }),
  }),
);
