import { ConflictError, ForbiddenError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { DEFAULT_MTU, networkSpecSchema, type NetworkSpec } from '../schema/documents/network.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Network, NetworkInput } from '../schema/types/network.ts';
import { allocateVni, findNetwork, listNetworks, type NetworkRow } from '../store/networks.ts';
import { ensureServicePort } from '../store/ports.ts';
import { ensureDefaultGroup } from '../store/security-groups.ts';
import { compact } from './compact.ts';
import { ownedNetwork } from './network-scope.ts';
import { readScope, requireUser } from './scope.ts';
import { uniqueViolation } from './sql-errors.ts';

/** The admin-only kinds of network, each behind its own rule. */
function checkPrivileges(ctx: Context, s: NetworkSpec): void {
  const asks: [boolean, string, string][] = [
    [s.shared === true, 'network:create_shared', 'shared'],
    [s.external === true, 'network:create_external', 'external'],
    [s.providerBridge !== undefined, 'network:create_provider', 'providerBridge'],
  ];
  for (const [asked, rule, field] of asks) {
    if (asked && !ctx.policy.allows(ctx.principal, rule)) throw new ForbiddenError(`input.${field} needs the ${rule} rule`);
  }
}

builder.queryFields((t) => ({
  networks: t.field({
    type: [Network],
    description: "Your project's networks, shared ones and external ones (every project's for admins who ask).",
    args: { allProjects: t.arg.boolean() },
    authScopes: { policy: 'network:list' },
    resolve: (_r, { allProjects }, ctx) => listNetworks(ctx.sql, { projectId: readScope(ctx, allProjects, 'network:list_all_projects') }),
  }),
  network: t.field({
    type: Network,
    nullable: true,
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'network:list' },
    resolve: async (_r, { ref }, ctx) => (await findNetwork(ctx.sql, ref, { projectId: requireUser(ctx).projectId })) ?? null,
  }),
}));

builder.mutationFields((t) => ({
  createNetwork: t.field({
    type: Network,
    description: 'A VXLAN overlay with the lowest free VNI, or (admins) a provider bridge, with its service port; add a subnet to give it addresses.',
    args: { input: t.arg({ type: NetworkInput, required: true }) },
    authScopes: { policy: 'network:create' },
    errors: mutationErrors('CreateNetwork', 'network'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<NetworkSpec>(networkSpecSchema, compact(input));
      checkPrivileges(ctx, s);
      const segment = s.providerBridge !== undefined ? 'bridge' : 'vxlan';
      try {
        return await ctx.sql.begin(async (tx) => {
          await ensureDefaultGroup(tx, user.projectId);
          const vni = segment === 'vxlan' ? await allocateVni(tx) : null;
          if (segment === 'vxlan' && vni === null) throw new ConflictError('every VXLAN id is in use');
          const [row] = await tx<NetworkRow[]>`
            insert into networks (project_id, name, shared, external, segment_type, vni, provider_bridge, mtu)
            values (${user.projectId}, ${s.name}, ${s.shared ?? false}, ${s.external ?? false}, ${segment}, ${vni},
                    ${s.providerBridge ?? null}, ${s.mtu ?? DEFAULT_MTU[segment]})
            returning *`;
          await ensureServicePort(tx, row!);
          return row!;
        });
      } catch (e) {
        if (uniqueViolation(e)) throw new ConflictError(`your project already has a network named ${s.name}`);
        throw e;
      }
    },
  }),
  deleteNetwork: t.field({
    type: Network,
    description: 'Refused while ports of instances (or of users) are on it, or floating IPs come from it; its subnets go with it.',
    args: { ref: t.arg.string({ required: true, description: 'Name or ID' }) },
    authScopes: { policy: 'network:delete' },
    errors: mutationErrors('DeleteNetwork', 'network'),
    resolve: (_r, { ref }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const n = await ownedNetwork(tx, ctx, ref, 'ref');
        const [use] = await tx<{ ports: number; floating: number }[]>`
          select (select count(*)::int from ports where network_id = ${n.id} and device_owner = 'compute') as ports,
                 (select count(*)::int from floating_ips where network_id = ${n.id}) as floating`;
        if (use!.ports > 0) throw new ConflictError(`network ${n.name} has ${use!.ports} port(s); delete them (or their instances) first`, 'in-use');
        if (use!.floating > 0) throw new ConflictError(`network ${n.name} has ${use!.floating} floating IP(s); delete them first`, 'in-use');
        await tx`delete from networks where id = ${n.id}`;
        return n;
      }),
  }),
}));
