import type { SubnetSpec } from '../schema/documents/network.ts';
import { ValidationError } from './errors.ts';
import { requireCidr, requireIp } from './ip-fields.ts';
import { contains, formatCidr, formatIp, lastOf, reserved, type Cidr, type Ip } from './ip.ts';

/** A subnet input checked address by address, in the form the tables take. */
export interface SubnetPlan {
  cidr: Cidr;
  gateway: string | null;
  pools: { first: string; last: string }[];
  dnsServers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
}

const fmt = (version: 4 | 6, value: bigint) => formatIp({ version, value });

/**
 * Checks every address of the input against the cidr; writes nothing, knows nothing of other subnets.
 * Pure, so `orrery plan` checks a file's subnets (and compares them with the API's) by the same rules.
 */
export function planSubnet(s: SubnetSpec): SubnetPlan {
  const cidr = requireCidr(s.cidr, 'input.cidr');
  const inCidr = (ip: Ip, field: string, what: string) => {
    if (!contains(cidr, ip)) throw ValidationError.field(field, `${what} is outside ${formatCidr(cidr)}`);
    if (reserved(cidr).includes(ip.value)) throw ValidationError.field(field, `${what} is the subnet's network or broadcast address`);
  };
  let gateway: Ip | null = null;
  if (s.noGateway && s.gatewayIp !== undefined) throw ValidationError.field('input.gatewayIp', 'cannot be given with noGateway');
  if (s.gatewayIp !== undefined) {
    gateway = requireIp(s.gatewayIp, 'input.gatewayIp');
    inCidr(gateway, 'input.gatewayIp', `gateway ${s.gatewayIp}`);
  } else if (!s.noGateway && lastOf(cidr) > cidr.network) {
    gateway = { version: cidr.version, value: cidr.network + 1n };
  }
  const pools = s.allocationPools ? checkPools(s.allocationPools, gateway, inCidr) : defaultPools(cidr, gateway);
  if (pools.length === 0) throw ValidationError.field('input.cidr', `${formatCidr(cidr)} leaves no address to allocate`);
  const dnsServers = (s.dnsServers ?? []).map((d, i) => {
    const ip = requireIp(d, `input.dnsServers.${i}`);
    if (ip.version !== cidr.version) throw ValidationError.field(`input.dnsServers.${i}`, `must be an IPv${cidr.version} address`);
    return formatIp(ip);
  });
  const hostRoutes = (s.hostRoutes ?? []).map((r, i) => {
    const destination = requireCidr(r.destination, `input.hostRoutes.${i}.destination`);
    const nexthop = requireIp(r.nexthop, `input.hostRoutes.${i}.nexthop`);
    if (destination.version !== cidr.version || nexthop.version !== cidr.version) {
      throw ValidationError.field(`input.hostRoutes.${i}`, `must be IPv${cidr.version}`);
    }
    if (!contains(cidr, nexthop)) throw ValidationError.field(`input.hostRoutes.${i}.nexthop`, `is outside ${formatCidr(cidr)}`);
    return { destination: formatCidr(destination), nexthop: formatIp(nexthop) };
  });
  return {
    cidr,
    gateway: gateway ? formatIp(gateway) : null,
    pools: pools.map((p) => ({ first: fmt(cidr.version, p.first), last: fmt(cidr.version, p.last) })),
    dnsServers,
    hostRoutes,
  };
}

type Range = { first: bigint; last: bigint };

function checkPools(
  given: readonly { first: string; last: string }[],
  gateway: Ip | null,
  inCidr: (ip: Ip, field: string, what: string) => void,
): Range[] {
  const ranges = given.map((p, i) => {
    const field = `input.allocationPools.${i}`;
    const first = requireIp(p.first, `${field}.first`);
    const last = requireIp(p.last, `${field}.last`);
    inCidr(first, field, `pool start ${p.first}`);
    inCidr(last, field, `pool end ${p.last}`);
    if (first.value > last.value) throw ValidationError.field(field, `starts (${p.first}) after it ends (${p.last})`);
    if (gateway && gateway.value >= first.value && gateway.value <= last.value) {
      throw ValidationError.field(field, `contains the gateway ${formatIp(gateway)}`);
    }
    return { first: first.value, last: last.value };
  });
  ranges.forEach((r, i) => {
    const j = ranges.findIndex((o, k) => k < i && o.first <= r.last && r.first <= o.last);
    if (j >= 0) throw ValidationError.field(`input.allocationPools.${i}`, `overlaps allocationPools.${j}`);
  });
  return [...ranges].sort((a, b) => (a.first < b.first ? -1 : 1));
}

/** The whole cidr but its reserved addresses, split around the gateway. */
function defaultPools(cidr: Cidr, gateway: Ip | null): Range[] {
  const skip = new Set([...reserved(cidr), ...(gateway ? [gateway.value] : [])]);
  let first = cidr.network;
  let last = lastOf(cidr);
  while (first <= last && skip.has(first)) first++;
  while (last >= first && skip.has(last)) last--;
  if (first > last) return [];
  if (gateway && gateway.value > first && gateway.value < last) {
    return [{ first, last: gateway.value - 1n }, { first: gateway.value + 1n, last }];
  }
  return [{ first, last }];
}
