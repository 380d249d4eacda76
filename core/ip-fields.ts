import { ValidationError } from './errors.ts';
import { parseCidr, parseIp, type Cidr, type Ip } from './ip.ts';

/** An address or CIDR given in an input field: parsed, or refused naming the field. */

export function requireIp(text: string, field: string): Ip {
  const ip = parseIp(text);
  if (!ip) throw ValidationError.field(field, 'must be an IP address such as 10.0.0.5 or fd00::5');
  return ip;
}

export function requireCidr(text: string, field: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw ValidationError.field(field, c);
  return c;
}
