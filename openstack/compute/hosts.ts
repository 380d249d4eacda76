import { Router, type Response } from 'express';
import { OsError } from '../errors.ts';
import { run } from '../graphql.ts';
import { ctxOf, route } from '../http.ts';
import { allow } from '../policy.ts';

const HOST = `id name zone enabled state disabledReason forcedDown lastHeartbeatAt hypervisorType hypervisorVersion instanceCount
  capacity { vcpus memoryMb diskGb } used { vcpus memoryMb diskGb }`;

interface Resources {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

interface HostNode {
  id: string;
  name: string;
  zone: string | null;
  enabled: boolean;
  state: 'up' | 'down';
  disabledReason: string | null;
  forcedDown: boolean;
  lastHeartbeatAt: string | null;
  hypervisorType: string;
  hypervisorVersion: string;
  instanceCount: number;
  capacity: Resources;
  used: Resources;
}

/** Every host, page by page: the fleet is small next to what one answer may hold. */
async function hosts(res: Response): Promise<HostNode[]> {
  const out: HostNode[] = [];
  let after: string | null = null;
  for (;;) {
    const d: { hosts: { edges: { node: HostNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await run(ctxOf(res),
      `query($after: String) { hosts(first: 100, after: $after) { edges { node { ${HOST} } } pageInfo { hasNextPage endCursor } } }`, { after });
    out.push(...d.hosts.edges.map((e) => e.node));
    if (!d.hosts.pageInfo.hasNextPage) return out;
    after = d.hosts.pageInfo.endCursor;
  }
}

// "1.2.3" as Nova's integer hypervisor_version (1002003).
const versionNumber = (v: string) => v.split('.').slice(0, 3).reduce((n, part) => n * 1000 + (Number.parseInt(part, 10) || 0), 0);

const zoneOf = (h: HostNode) => h.zone ?? 'nova';

function hypervisor(h: HostNode, detail: boolean) {
  const summary = { id: h.id, hypervisor_hostname: h.name, state: h.state, status: h.enabled ? 'enabled' : 'disabled' };
  if (!detail) return summary;
  return {
    ...summary,
    hypervisor_type: h.hypervisorType.toUpperCase(),
    hypervisor_version: versionNumber(h.hypervisorVersion),
    host_ip: h.name,
    service: { host: h.name, id: h.id, disabled_reason: h.disabledReason },
    vcpus: h.capacity.vcpus,
    memory_mb: h.capacity.memoryMb,
    local_gb: h.capacity.diskGb,
    vcpus_used: h.used.vcpus,
    memory_mb_used: h.used.memoryMb,
    local_gb_used: h.used.diskGb,
    free_ram_mb: h.capacity.memoryMb - h.used.memoryMb,
    free_disk_gb: h.capacity.diskGb - h.used.diskGb,
    disk_available_least: h.capacity.diskGb - h.used.diskGb,
    current_workload: 0,
    running_vms: h.instanceCount,
    cpu_info: '{}',
  };
}

export function hostRoutes(r: Router): void {
  r.get('/os-hypervisors', allow('os_compute_api:os-hypervisors:list'), route(async (_req, res) => {
    res.json({ hypervisors: (await hosts(res)).map((h) => hypervisor(h, false)) });
  }));
  r.get('/os-hypervisors/detail', allow('os_compute_api:os-hypervisors:list'), route(async (_req, res) => {
    res.json({ hypervisors: (await hosts(res)).map((h) => hypervisor(h, true)) });
  }));
  r.get('/os-hypervisors/:id', allow('os_compute_api:os-hypervisors:list'), route(async (req, res) => {
    const h = (await hosts(res)).find((x) => x.id === req.params.id || x.name === req.params.id);
    if (!h) throw new OsError(404, `Hypervisor with ID ${req.params.id} could not be found.`);
    res.json({ hypervisor: hypervisor(h, true) });
  }));
  // Each host's agent is its nova-compute; scheduling and conducting are the worker's, not a service per host.
  r.get('/os-services', allow('os_compute_api:os-services:list'), route(async (req, res) => {
    const binary = req.query.binary;
    const host = req.query.host;
    const rows = (await hosts(res)).filter((h) => (!binary || binary === 'nova-compute') && (!host || h.name === host));
    res.json({ services: rows.map((h) => ({
      id: h.id, binary: 'nova-compute', host: h.name, zone: zoneOf(h), status: h.enabled ? 'enabled' : 'disabled',
      state: h.state, updated_at: h.lastHeartbeatAt, disabled_reason: h.disabledReason, forced_down: h.forcedDown,
    })) });
  }));
  r.get('/os-availability-zone', allow('os_compute_api:os-availability-zone:list'), route(async (_req, res) => {
    const d = await run<{ availabilityZones: { name: string }[] }>(ctxOf(res), `{ availabilityZones { name } }`);
    const names = d.availabilityZones.length ? d.availabilityZones.map((z) => z.name) : ['nova'];
    res.json({ availabilityZoneInfo: names.map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: null })) });
  }));
  r.get('/os-availability-zone/detail', allow('os_compute_api:os-availability-zone:list'), route(async (_req, res) => {
    const byZone = new Map<string, HostNode[]>();
    for (const h of await hosts(res)) byZone.set(zoneOf(h), [...(byZone.get(zoneOf(h)) ?? []), h]);
    res.json({ availabilityZoneInfo: [...byZone].map(([zoneName, members]) => ({
      zoneName,
      zoneState: { available: members.some((h) => h.state === 'up') },
      hosts: Object.fromEntries(members.map((h) => [h.name, {
        'nova-compute': { available: h.state === 'up', active: h.enabled, updated_at: h.lastHeartbeatAt },
      }])),
    })) });
  }));
}
