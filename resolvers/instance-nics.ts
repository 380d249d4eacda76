import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import type { Context } from '../schema/context.ts';
import type { InstanceNic } from '../schema/documents/network.ts';
import type { NetworkRow } from '../store/networks.ts';
import { createPort, loadPorts, type FixedIpRequest } from '../store/ports.ts';
import { ensureDefaultGroup } from '../store/security-groups.ts';
import { fixedIpRequest } from './fixed-ips.ts';
import { attachableNetwork } from './network-scope.ts';
import type { UserPrincipal } from './scope.ts';

/** One NIC of an instance to be: a new port on a network, or a port of the project to attach. */
export type PreparedNic =
  | { kind: 'network'; network: NetworkRow; fixedIp: FixedIpRequest | null; field: string }
  | { kind: 'port'; portId: string; field: string };

/** The project's own non-external networks, when it has exactly one: the NIC an instance gets unasked. */
export async function soleProjectNetwork(sql: Sql, projectId: string): Promise<NetworkRow | null> {
  const rows = await sql<NetworkRow[]>`select * from networks where project_id = ${projectId} and not external limit 2`;
  return rows.length === 1 ? rows[0]! : null;
}

/**
 * Checks one NIC (an instance's at creation, or one attached later) named by `field` in errors:
 * a network of the caller's or a shared one (and a fixed IP on it), or an unattached port of the
 * project. Writes nothing.
 */
export async function prepareNic(sql: Sql | TxSql, ctx: Context, user: UserPrincipal, nic: InstanceNic, field: string): Promise<PreparedNic> {
  if ((nic.network === undefined) === (nic.port === undefined)) throw ValidationError.field(field, 'must name exactly one of network and port');
  if (nic.port !== undefined) {
    if (nic.fixedIp !== undefined) throw ValidationError.field(`${field}.fixedIp`, "cannot be given with port (the port's addresses stay)");
    const [p] = await loadPorts(sql, { id: nic.port, projectId: user.projectId });
    if (!p || p.device_owner !== 'compute') throw new NotFoundError('port', nic.port, `${field}.port`);
    if (p.instance_id) throw new ConflictError(`port ${p.id} is attached to instance ${p.instance_id}`, 'attached');
    return { kind: 'port', portId: p.id, field };
  }
  const network = await attachableNetwork(sql, ctx, nic.network!, `${field}.network`);
  const fixedIp = nic.fixedIp !== undefined ? await fixedIpRequest(sql, network, nic.fixedIp, `${field}.fixedIp`) : null;
  return { kind: 'network', network, fixedIp, field };
}

/** Checks the NICs an input asks for (none asked: the sole project network's); writes nothing. */
export async function prepareNics(
  ctx: Context,
  user: UserPrincipal,
  nics: InstanceNic[] | undefined,
  root: string,
  soleNetwork: () => Promise<NetworkRow | null>,
): Promise<PreparedNic[]> {
  if (nics === undefined) {
    const n = await soleNetwork();
    return n ? [{ kind: 'network', network: n, fixedIp: null, field: `${root}.networks` }] : [];
  }
  const out: PreparedNic[] = [];
  for (const [i, nic] of nics.entries()) {
    const prepared = await prepareNic(ctx.sql, ctx, user, nic, `${root}.networks.${i}`);
    if (prepared.kind === 'port' && out.some((o) => o.kind === 'port' && o.portId === prepared.portId)) {
      throw ValidationError.field(`${prepared.field}.port`, 'is named twice');
    }
    out.push(prepared);
  }
  return out;
}

/**
 * One port of the instance, in the transaction that writes the instance or the attach: made (with
 * addresses) or attached. Its status stays DOWN until the host reports the NIC on the guest.
 */
export async function writeNic(tx: TxSql, user: UserPrincipal, instanceId: string, nic: PreparedNic): Promise<string> {
  if (nic.kind === 'port') {
    // Attached only if still free: a concurrent request naming the same port loses here.
    const [taken] = await tx<{ id: string }[]>`update ports set instance_id = ${instanceId}
                                                where id = ${nic.portId} and instance_id is null returning id`;
    if (!taken) throw new ConflictError(`port ${nic.portId} is attached to another instance`, 'attached');
    return taken.id;
  }
  const group = await ensureDefaultGroup(tx, user.projectId);
  return createPort(tx, {
    networkId: nic.network.id, projectId: user.projectId, name: '', instanceId,
    portSecurity: true, createdByInstance: true, groupIds: [group],
    fixedIps: nic.fixedIp ? [nic.fixedIp] : null, field: nic.field,
  });
}
