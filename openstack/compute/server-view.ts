import type { Response } from 'express';
import { atLeast } from './microversion.ts';

/** What every server answer reads of an instance. */
export const SERVER_FIELDS = `fragment Server on Instance {
  id name status vmState taskState powerState keyName locked lockedReason hostName hostId projectId userId imageId
  createdAt updatedAt launchedAt requestedZone configDrive tags deleting
  metadata { key value }
  fault { code message details time }
  flavor { id name vcpus ramMb diskGb ephemeralGb swapMb extraSpecs { key value } }
  ports { id macAddress networkId networkName status fixedIps { ip subnetId } }
}`;

export interface KeyValue {
  key: string;
  value: string;
}

export interface ServerNode {
  id: string;
  name: string;
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: string;
  keyName: string | null;
  locked: boolean;
  lockedReason: string | null;
  hostName: string | null;
  hostId: string | null;
  projectId: string;
  userId: string;
  imageId: string;
  createdAt: string;
  updatedAt: string;
  launchedAt: string | null;
  requestedZone: string | null;
  configDrive: boolean;
  tags: string[];
  deleting: boolean;
  metadata: KeyValue[];
  fault: { code: string; message: string; details: string | null; time: string } | null;
  flavor: { id: string; name: string; vcpus: number; ramMb: number; diskGb: number; ephemeralGb: number; swapMb: number; extraSpecs: KeyValue[] };
  ports: { id: string; macAddress: string; networkId: string; networkName: string; status: string; fixedIps: { ip: string; subnetId: string }[] }[];
}

// nova/compute/power_state.py
const POWER: Record<string, number> = { nostate: 0, running: 1, paused: 3, shutdown: 4, crashed: 6, suspended: 7 };

export const toMap = (kv: KeyValue[]) => Object.fromEntries(kv.map((p) => [p.key, p.value]));
const noMillis = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : null);

export function links(base: string, kind: string, id: string) {
  return [
    { rel: 'self', href: `${base}/compute/v2.1/${kind}/${id}` },
    { rel: 'bookmark', href: `${base}/compute/${kind}/${id}` },
  ];
}

/** Nova's addresses: NICs grouped by network name, each address with its version and MAC. */
export function addresses(s: Pick<ServerNode, 'ports'>) {
  const out: Record<string, object[]> = {};
  for (const p of s.ports) {
    for (const ip of p.fixedIps) {
      (out[p.networkName] ??= []).push({
        version: ip.ip.includes(':') ? 6 : 4, addr: ip.ip, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': p.macAddress,
      });
    }
  }
  return out;
}

/** Before 2.47 a server names its flavor; from 2.47 it embeds it. */
function flavorOf(res: Response, base: string, s: ServerNode) {
  if (!atLeast(res, 47)) return { id: s.flavor.id, links: [{ rel: 'bookmark', href: `${base}/compute/flavors/${s.flavor.id}` }] };
  return {
    vcpus: s.flavor.vcpus, ram: s.flavor.ramMb, disk: s.flavor.diskGb, ephemeral: s.flavor.ephemeralGb, swap: s.flavor.swapMb,
    original_name: s.flavor.name, extra_specs: toMap(s.flavor.extraSpecs),
  };
}

/** GET /servers/{id} and /servers/detail, at the request's microversion. */
export function serverDetail(res: Response, base: string, s: ServerNode) {
  return {
    id: s.id,
    name: s.name,
    status: s.deleting ? 'DELETED' : s.status,
    tenant_id: s.projectId,
    user_id: s.userId,
    metadata: toMap(s.metadata),
    hostId: s.hostId ?? '',
    image: { id: s.imageId, links: [{ rel: 'bookmark', href: `${base}/compute/images/${s.imageId}` }] },
    flavor: flavorOf(res, base, s),
    created: noMillis(s.createdAt),
    updated: noMillis(s.updatedAt),
    addresses: addresses(s),
    accessIPv4: '',
    accessIPv6: '',
    links: links(base, 'servers', s.id),
    'OS-DCF:diskConfig': 'MANUAL',
    progress: 0,
    'OS-EXT-AZ:availability_zone': s.requestedZone ?? 'nova',
    config_drive: s.configDrive ? 'True' : '',
    key_name: s.keyName,
    'OS-SRV-USG:launched_at': noMillis(s.launchedAt),
    'OS-SRV-USG:terminated_at': null,
    security_groups: [{ name: 'default' }],
    'OS-EXT-SRV-ATTR:host': s.hostName,
    'OS-EXT-SRV-ATTR:hypervisor_hostname': s.hostName,
    'OS-EXT-SRV-ATTR:instance_name': `instance-${s.id}`,
    'OS-EXT-STS:task_state': s.taskState,
    'OS-EXT-STS:vm_state': s.vmState,
    'OS-EXT-STS:power_state': POWER[s.powerState] ?? 0,
    'os-extended-volumes:volumes_attached': [],
    locked: s.locked,
    ...(atLeast(res, 73) ? { locked_reason: s.lockedReason } : {}),
    ...(atLeast(res, 19) ? { description: null } : {}),
    ...(atLeast(res, 26) ? { tags: s.tags } : {}),
    ...(atLeast(res, 63) ? { trusted_image_certificates: null } : {}),
    ...(s.fault ? { fault: { code: Number(s.fault.code) || 500, message: s.fault.message, details: s.fault.details ?? '', created: s.fault.time } } : {}),
  };
}
