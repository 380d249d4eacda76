import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { portPatchSchema, portSpecSchema, type PortPatch, type PortSpec } from '../schema/documents/network.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Port, PortFilterInput, PortInput, PortPatchInput } from '../schema/types/network.ts';
import { isUuid } from '../store/instances.ts';
import { findNetwork } from '../store/networks.ts';
import { createPort, loadPorts, type PortView } from '../store/ports.ts';
import { DEFAULT_GROUP } from '../store/security-groups.ts';
import { compact } from './compact.ts';
import { fixedIpRequest } from './fixed-ips.ts';
import { attachableNetwork, networkProject, resolveGroups } from './network-scope.ts';
import { requireUser } from './scope.ts';

/** Neutron's rule: a port without port security has no security groups (nothing would apply them). */
function checkSecurity(portSecurity: boolean | undefined, groups: readonly string[] | undefined): void {
  if (portSecurity === false && groups && groups.length > 0) {
    throw ValidationError.field('input.securityGroups', 'must be empty on a port without port security');
  }
}

/** The caller's port (admins: any project's), locked; other projects' ports are not found. */
async function ownPort(tx: TxSql, ctx: Context, id: string): Promise<PortView> {
  if (!isUuid(id)) throw new NotFoundError('port', id, 'id');
  await tx`select 1 from ports where id = ${id} for update`;
  const [port] = await loadPorts(tx, { id, projectId: networkProject(ctx) });
  if (!port) throw new NotFoundError('port', id, 'id');
  return port;
}

builder.queryFields((t) => ({
  ports: t.field({
    type: [Port],
    args: { filter: t.arg({ type: PortFilterInput }) },
    authScopes: { policy: 'port:list' },
    resolve: async (_r, { filter }, ctx) => {
      const user = requireUser(ctx);
      const network = filter?.network ? await findNetwork(ctx.sql, filter.network, { projectId: user.projectId }) : undefined;
      if (filter?.network && !network) return [];
      const instance = filter?.instance ? String(filter.instance) : null;
      if (instance && !isUuid(instance)) return [];
      return loadPorts(ctx.sql, { projectId: user.projectId, networkId: network?.id, instanceId: instance });
    },
  }),
  port: t.field({
    type: Port,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'port:list' },
    resolve: async (_r, { id }, ctx) => {
      if (!isUuid(String(id))) return null;
      return (await loadPorts(ctx.sql, { id: String(id), projectId: requireUser(ctx).projectId }))[0] ?? null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createPort: t.field({
    type: Port,
    description: 'A port of your project on your network or a shared one, to attach to an instance at creation (createInstance networks.port).',
    args: { input: t.arg({ type: PortInput, required: true }) },
    authScopes: { policy: 'port:create' },
    errors: mutationErrors('CreatePort', 'port'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<PortSpec>(portSpecSchema, compact(input));
      checkSecurity(s.portSecurity, s.securityGroups);
      return ctx.sql.begin(async (tx) => {
        const network = await attachableNetwork(tx, ctx, s.network, 'input.network');
        const fixedIps = s.fixedIps
          ? await Promise.all(s.fixedIps.map((f, i) => fixedIpRequest(tx, network, f.ip, `input.fixedIps.${i}.ip`)))
          : null;
        const portSecurity = s.portSecurity ?? true;
        const groupIds = portSecurity ? await resolveGroups(tx, user.projectId, s.securityGroups ?? [DEFAULT_GROUP], 'input.securityGroups') : [];
        const id = await createPort(tx, {
          networkId: network.id, projectId: user.projectId, name: s.name ?? '', instanceId: null,
          portSecurity, createdByInstance: false, groupIds, fixedIps, field: 'input.network',
        });
        return (await loadPorts(tx, { id, projectId: null }))[0]!;
      });
    },
  }),
  updatePort: t.field({
    type: Port,
    description: 'Renames the port, replaces its security groups, or turns port security off (which empties its groups) or on.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: PortPatchInput, required: true }) },
    authScopes: { policy: 'port:update' },
    errors: mutationErrors('UpdatePort', 'port'),
    resolve: async (_r, { id, input }, ctx) => {
      const s = validate<PortPatch>(portPatchSchema, compact(input));
      return ctx.sql.begin(async (tx) => {
        const port = await ownPort(tx, ctx, String(id));
        if (port.device_owner !== 'compute') throw new ConflictError("the network's service port is not yours to change", port.device_owner);
        const portSecurity = s.portSecurity ?? port.port_security;
        checkSecurity(portSecurity, s.securityGroups);
        const groups = !portSecurity ? [] : s.securityGroups ? await resolveGroups(tx, port.project_id, s.securityGroups, 'input.securityGroups') : null;
        await tx`update ports set name = ${s.name ?? port.name}, port_security = ${portSecurity} where id = ${port.id}`;
        if (groups) {
          await tx`delete from port_security_groups where port_id = ${port.id} and group_id <> all(${groups}::uuid[])`;
          await tx`insert into port_security_groups (port_id, group_id) select ${port.id}, unnest(${groups}::uuid[]) on conflict do nothing`;
        }
        return (await loadPorts(tx, { id: port.id, projectId: null }))[0]!;
      });
    },
  }),
  deletePort: t.field({
    type: Port,
    description: 'Releases its addresses. Refused while an instance uses it (delete the instance, which detaches it).',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'port:delete' },
    errors: mutationErrors('DeletePort', 'port'),
    resolve: (_r, { id }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const port = await ownPort(tx, ctx, String(id));
        if (port.device_owner !== 'compute') throw new ConflictError("the network's service port goes with the network", port.device_owner);
        if (port.instance_id) throw new ConflictError(`port ${port.id} is attached to instance ${port.instance_id}`, 'attached');
        await tx`delete from ports where id = ${port.id}`;
        return port;
      }),
  }),
}));
