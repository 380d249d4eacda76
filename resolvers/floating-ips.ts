import { AddressExhaustedError, ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { mutationErrors } from '../schema/errors.ts';
import { FloatingIp } from '../schema/types/floating-ip.ts';
import { loadFloatingIps, type FloatingIpRow } from '../store/floating-ips.ts';
import { isUuid } from '../store/instances.ts';
import { insertFloatingIp } from '../store/ipam.ts';
import { findNetwork, subnetsOf } from '../store/networks.ts';
import { loadPorts } from '../store/ports.ts';
import { requireUser } from './scope.ts';

async function ownFloatingIp(tx: TxSql, ctx: Context, id: string): Promise<FloatingIpRow> {
  const [f] = isUuid(id) ? await loadFloatingIps(tx, requireUser(ctx).projectId, id, true) : [];
  if (!f) throw new NotFoundError('floating IP', id, 'id');
  return f;
}

builder.queryFields((t) => ({
  floatingIps: t.field({
    type: [FloatingIp],
    authScopes: { policy: 'floating_ip:list' },
    resolve: (_r, _a, ctx) => loadFloatingIps(ctx.sql, requireUser(ctx).projectId, null),
  }),
}));

builder.mutationFields((t) => ({
  createFloatingIp: t.field({
    type: FloatingIp,
    description: "The lowest free address of an external network's IPv4 subnets, for your project.",
    args: { network: t.arg.string({ required: true, description: 'External network name or ID' }) },
    authScopes: { policy: 'floating_ip:create' },
    errors: mutationErrors('CreateFloatingIp', 'floatingIp'),
    resolve: (_r, { network }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const user = requireUser(ctx);
        const n = await findNetwork(tx, network, { projectId: user.projectId });
        if (!n) throw new NotFoundError('network', network, 'network');
        if (!n.external) throw ValidationError.field('network', `network ${n.name} is not external`);
        const subnets = (await subnetsOf(tx, n.id)).filter((s) => s.ip_version === 4);
        if (subnets.length === 0) throw ValidationError.field('network', `network ${n.name} has no IPv4 subnet`);
        let lastError: unknown;
        for (const s of subnets) {
          try {
            const id = await tx.savepoint((sp) => insertFloatingIp(sp as TxSql, s, { projectId: user.projectId, networkId: n.id }, 'network'));
            return (await loadFloatingIps(tx, null, id))[0]!;
          } catch (e) {
            // A full subnet sends the search on to the next one; anything else is a real failure.
            if (!(e instanceof AddressExhaustedError)) throw e;
            lastError = e;
          }
        }
        throw lastError;
      }),
  }),
  associateFloatingIp: t.field({
    type: FloatingIp,
    description: "NATs the floating IP to the port's first IPv4 address (or `fixedIp`, one of the port's).",
    args: { id: t.arg.id({ required: true }), port: t.arg.id({ required: true }), fixedIp: t.arg.string() },
    authScopes: { policy: 'floating_ip:update' },
    errors: mutationErrors('AssociateFloatingIp', 'floatingIp'),
    resolve: (_r, { id, port, fixedIp }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const f = await ownFloatingIp(tx, ctx, String(id));
        const [p] = isUuid(String(port)) ? await loadPorts(tx, { id: String(port), projectId: f.project_id }) : [];
        if (!p || p.device_owner !== 'compute') throw new NotFoundError('port', String(port), 'port');
        if (p.network_id === f.network_id) throw ValidationError.field('port', 'is on the floating IP\'s own external network');
        const v4 = p.fixed_ips.filter((a) => !a.ip.includes(':'));
        const chosen = fixedIp ? v4.find((a) => a.ip === fixedIp) : v4[0];
        if (!chosen) throw ValidationError.field(fixedIp ? 'fixedIp' : 'port', fixedIp ? `is not an IPv4 address of port ${p.id}` : 'has no IPv4 address');
        const [taken] = await tx<{ id: string }[]>`
          select id from floating_ips where port_id = ${p.id} and fixed_ip = ${chosen.ip}::inet and id <> ${f.id}`;
        if (taken) throw new ConflictError(`${chosen.ip} of port ${p.id} already has floating IP ${taken.id}`, 'associated');
        await tx`update floating_ips set port_id = ${p.id}, fixed_ip = ${chosen.ip}::inet where id = ${f.id}`;
        return (await loadFloatingIps(tx, null, f.id))[0]!;
      }),
  }),
  disassociateFloatingIp: t.field({
    type: FloatingIp,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'floating_ip:update' },
    errors: mutationErrors('DisassociateFloatingIp', 'floatingIp'),
    resolve: (_r, { id }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const f = await ownFloatingIp(tx, ctx, String(id));
        await tx`update floating_ips set port_id = null, fixed_ip = null where id = ${f.id}`;
        return (await loadFloatingIps(tx, null, f.id))[0]!;
      }),
  }),
  deleteFloatingIp: t.field({
    type: FloatingIp,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'floating_ip:delete' },
    errors: mutationErrors('DeleteFloatingIp', 'floatingIp'),
    resolve: (_r, { id }, ctx) =>
      ctx.sql.begin(async (tx) => {
        const f = await ownFloatingIp(tx, ctx, String(id));
        await tx`delete from floating_ips where id = ${f.id}`;
        return f;
      }),
  }),
}));
