import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { formatCidr, overlaps, parseCidr } from '../core/ip.ts';
import { planSubnet } from '../core/subnet-plan.ts';
import { validate } from '../core/validate.ts';
import { builder } from '../schema/builder.ts';
import { subnetSpecSchema, type SubnetSpec } from '../schema/documents/network.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Subnet, SubnetInput } from '../schema/types/network.ts';
import { isUuid } from '../store/instances.ts';
import { allocateAddress } from '../store/ipam.ts';
import { findNetwork, subnetsOf, type SubnetRow } from '../store/networks.ts';
import { ensureServicePort } from '../store/ports.ts';
import { compact } from './compact.ts';
import { networkProject, ownedNetwork } from './network-scope.ts';
import { requireUser } from './scope.ts';

builder.queryFields((t) => ({
  subnets: t.field({
    type: [Subnet],
    args: { network: t.arg.string({ required: true, description: 'Network name or ID' }) },
    authScopes: { policy: 'subnet:list' },
    resolve: async (_r, { network }, ctx) => {
      const n = await findNetwork(ctx.sql, network, { projectId: requireUser(ctx).projectId });
      return n ? subnetsOf(ctx.sql, n.id) : [];
    },
  }),
}));

builder.mutationFields((t) => ({
  createSubnet: t.field({
    type: Subnet,
    description:
      "Addresses for a network of yours. Overlapping another network's subnet is fine (as in Neutron); overlapping one of the same network is not. " +
      "With DHCP on, the network's service port takes the first free address of the pools as the DHCP server's.",
    args: { input: t.arg({ type: SubnetInput, required: true }) },
    authScopes: { policy: 'subnet:create' },
    errors: mutationErrors('CreateSubnet', 'subnet'),
    resolve: async (_r, { input }, ctx) => {
      const s = validate<SubnetSpec>(subnetSpecSchema, compact(input));
      const plan = planSubnet(s);
      return ctx.sql.begin(async (tx) => {
        const n = await ownedNetwork(tx, ctx, s.network, 'input.network');
        for (const other of await subnetsOf(tx, n.id)) {
          const c = parseCidr(other.cidr);
          if (typeof c !== 'string' && overlaps(c, plan.cidr)) {
            throw ValidationError.field('input.cidr', `overlaps subnet ${other.id} (${other.cidr}) of network ${n.name}`);
          }
        }
        const [row] = await tx<SubnetRow[]>`
          insert into subnets (network_id, name, ip_version, cidr, gateway_ip, dns_servers, host_routes, dhcp_enabled)
          values (${n.id}, ${s.name ?? ''}, ${plan.cidr.version}, ${formatCidr(plan.cidr)}::cidr, ${plan.gateway}::inet,
                  ${plan.dnsServers}::inet[], ${tx.json(plan.hostRoutes)}, ${s.dhcpEnabled ?? true})
          returning id, network_id, name, ip_version, cidr::text, host(gateway_ip) as gateway_ip,
                    array(select host(d) from unnest(dns_servers) d) as dns_servers, host_routes, dhcp_enabled, created_at`;
        const subnet = row!;
        await tx`insert into subnet_allocation_pools (subnet_id, first, last)
                 select ${subnet.id}, f, l from unnest(${plan.pools.map((p) => p.first)}::inet[], ${plan.pools.map((p) => p.last)}::inet[]) as x(f, l)`;
        const service = await ensureServicePort(tx, n);
        if (subnet.dhcp_enabled) await allocateAddress(tx, subnet, service, 'input.allocationPools');
        return subnet;
      });
    },
  }),
  deleteSubnet: t.field({
    type: Subnet,
    description: 'Refused while ports of instances or users hold addresses in it, or floating IPs come from it.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { policy: 'subnet:delete' },
    errors: mutationErrors('DeleteSubnet', 'subnet'),
    resolve: (_r, { id }, ctx) =>
      ctx.sql.begin(async (tx) => {
        if (!isUuid(String(id))) throw new NotFoundError('subnet', String(id), 'id');
        const [owner] = await tx<{ network_id: string }[]>`
          select s.network_id from subnets s join networks n on n.id = s.network_id
           where s.id = ${String(id)}::uuid and (${networkProject(ctx)}::uuid is null or n.project_id = ${networkProject(ctx)}::uuid)`;
        if (!owner) throw new NotFoundError('subnet', String(id), 'id');
        await ownedNetwork(tx, ctx, owner.network_id, 'id');
        const subnet = (await subnetsOf(tx, owner.network_id)).find((x) => x.id === String(id))!;
        const [use] = await tx<{ ports: number; floating: number }[]>`
          select (select count(*)::int from port_ips pi join ports p on p.id = pi.port_id
                   where pi.subnet_id = ${subnet.id} and p.device_owner = 'compute') as ports,
                 (select count(*)::int from floating_ips where subnet_id = ${subnet.id}) as floating`;
        if (use!.ports > 0 || use!.floating > 0) {
          throw new ConflictError(`subnet ${subnet.id} (${subnet.cidr}) has ${use!.ports} port address(es) and ${use!.floating} floating IP(s) in use`, 'in-use');
        }
        await tx`delete from subnets where id = ${subnet.id}`;
        return subnet;
      }),
  }),
}));
