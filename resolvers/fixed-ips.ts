import { ValidationError } from '../core/errors.ts';
import { requireIp } from '../core/ip-fields.ts';
import { contains, formatIp, parseCidr, reserved } from '../core/ip.ts';
import type { Sql, TxSql } from '../db/connect.ts';
import { subnetsOf, type NetworkRow } from '../store/networks.ts';
import type { FixedIpRequest } from '../store/ports.ts';

/**
 * A requested address checked against the network's subnets: inside one of them and neither its
 * gateway nor a reserved address. Free or not is for the insert to say (the primary key decides).
 */
export async function fixedIpRequest(sql: Sql | TxSql, network: NetworkRow, text: string, field: string): Promise<FixedIpRequest> {
  const ip = requireIp(text, field);
  for (const subnet of await subnetsOf(sql, network.id)) {
    const c = parseCidr(subnet.cidr);
    if (typeof c === 'string' || !contains(c, ip)) continue;
    if (reserved(c).includes(ip.value)) throw ValidationError.field(field, `${text} is the network or broadcast address of ${subnet.cidr}`);
    if (subnet.gateway_ip === formatIp(ip)) throw ValidationError.field(field, `${text} is the gateway of ${subnet.cidr}`);
    return { subnet, ip: formatIp(ip), field };
  }
  throw ValidationError.field(field, `${text} is in no subnet of network ${network.name}`);
}
