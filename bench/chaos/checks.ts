import type { Sql } from '../../db/connect.ts';
import type { DumpedDomain } from '../../hostagent/domain-dump.ts';
import type { OpRecord } from './ops.ts';

/** What the harness found wrong; every count must be zero. */
export interface Findings {
  ackLost: number;
  stuckInTask: number;
  allocationMismatch: number;
  usageMismatch: number;
  domainsWithoutInstance: number;
  instancesWithoutDomain: number;
  /**
   * Instances whose domain died with a fake hypervisor (the hollow-host process of their host, or
   * of a host they were live-migrated from, was killed) and which their agent reports as power state
   * nostate: shown on its own line, not failed on (see the known gaps in bench/chaos.ts's header).
   * Any other missing domain counts above.
   */
  domainsLostWithHypervisor: number;
  duplicateActions: number;
  lostActions: number;
  /** One line per finding, for the report. */
  details: string[];
}

/**
 * Acknowledged requests whose effect is missing: every acknowledged request has its action record
 * (by its request id), an acknowledged create its instance (unless an acknowledged delete removed
 * it), an acknowledged delete no instance left.
 */
export async function checkAcknowledged(sql: Sql, records: OpRecord[], deleted: Set<string>, details: string[]): Promise<number> {
  const acked = records.filter((r) => r.outcome === 'ack');
  const actions = await sql<{ request_id: string; n: number }[]>`
    select request_id, count(*)::int as n from instance_actions where request_id = any(${acked.map((r) => r.requestId)}) group by request_id`;
  const byRequest = new Map(actions.map((a) => [a.request_id, a.n]));
  const ids = acked.map((r) => r.instanceId).filter((x): x is string => x !== null);
  const existing = new Set((await sql<{ id: string }[]>`select id from instances where id = any(${ids}::uuid[])`).map((r) => r.id));
  let lost = 0;
  for (const r of acked) {
    const problems: string[] = [];
    if (!byRequest.has(r.requestId)) problems.push('no action record with its request id');
    if (r.kind === 'create' && !existing.has(r.instanceId!) && !deleted.has(r.instanceId!)) problems.push('its instance does not exist');
    if (r.kind === 'delete' && existing.has(r.instanceId!)) problems.push('the instance still exists');
    if (problems.length > 0) {
      lost++;
      details.push(`acknowledged ${r.kind} ${r.requestId} (instance ${r.instanceId}) lost: ${problems.join('; ')}`);
    }
  }
  return lost;
}

/** Instances whose allocations are not exactly: their flavor on their host, and while a move awaits confirmation the old flavor on the source. */
export async function checkAllocations(sql: Sql, details: string[]): Promise<number> {
  const rows = await sql<{ id: string; expected: string; actual: string }[]>`
    with expected as (
      select i.id as instance_id, i.host_id, f.vcpus, f.ram_mb as memory_mb, f.disk_gb
        from instances i join flavors f on f.id = i.flavor_id
       where i.host_id is not null
      union all
      select i.id, m.source_host_id, f.vcpus, f.ram_mb, f.disk_gb
        from instances i join migrations m on m.id = i.migration_id join flavors f on f.id = m.old_flavor_id
       where i.vm_state = 'resized' and m.status = 'finished' and m.source_host_id <> i.host_id
    ), e as (
      select instance_id, string_agg(concat_ws('/', host_id, vcpus, memory_mb, disk_gb), ' ' order by host_id) as s from expected group by instance_id
    ), a as (
      select instance_id, string_agg(concat_ws('/', host_id, vcpus, memory_mb, disk_gb), ' ' order by host_id) as s from allocations group by instance_id
    )
    select i.id, coalesce(e.s, '') as expected, coalesce(a.s, '') as actual
      from instances i left join e on e.instance_id = i.id left join a on a.instance_id = i.id
     where coalesce(e.s, '') <> coalesce(a.s, '')`;
  for (const r of rows) details.push(`allocations of ${r.id}: expected [${r.expected}], found [${r.actual}]`);
  return rows.length;
}

/** Hosts whose usage counters differ from the sum of their allocations. */
export async function checkUsage(sql: Sql, details: string[]): Promise<number> {
  const rows = await sql<{ name: string; used: string; sum: string }[]>`
    select h.name, concat_ws('/', h.used_vcpus, h.used_memory_mb, h.used_disk_gb) as used,
           concat_ws('/', coalesce(sum(a.vcpus), 0), coalesce(sum(a.memory_mb), 0), coalesce(sum(a.disk_gb), 0)) as sum
      from hosts h left join allocations a on a.host_id = h.id
     group by h.id
    having (h.used_vcpus, h.used_memory_mb, h.used_disk_gb) <> (coalesce(sum(a.vcpus), 0), coalesce(sum(a.memory_mb), 0), coalesce(sum(a.disk_gb), 0))`;
  for (const r of rows) details.push(`host ${r.name}: usage ${r.used}, allocations sum to ${r.sum}`);
  return rows.length;
}

/** States in which an instance on a host must have its domain there. */
const NEEDS_DOMAIN = ['active', 'stopped', 'paused', 'suspended', 'resized', 'rescued'];

/**
 * The fake hypervisors against the database: a domain on a host whose instance is not bound there
 * (the source of a move awaiting confirmation excepted), and an instance on a host with no domain.
 */
export async function checkDomains(sql: Sql, domains: Map<string, DumpedDomain[]>, crashedHosts: Set<string>, details: string[]) {
  const instances = await sql<{ id: string; host: string | null; source: string | null; vm_state: string; power_state: string; left_hosts: string[] }[]>`
    select i.id, h.name as host, s.name as source, i.vm_state, i.power_state,
           array(select lh.name from migrations lm join hosts lh on lh.id = lm.source_host_id
                  where lm.instance_id = i.id and lm.kind = 'live-migration') as left_hosts
      from instances i left join hosts h on h.id = i.host_id
      left join migrations m on m.id = i.migration_id and i.vm_state = 'resized' and m.status = 'finished'
      left join hosts s on s.id = m.source_host_id`;
  const byId = new Map(instances.map((i) => [i.id, i]));
  let withoutInstance = 0;
  let withoutDomain = 0;
  let lostWithHypervisor = 0;
  const onHost = new Set<string>();
  for (const [host, doms] of domains) {
    for (const d of doms) {
      onHost.add(`${host}/${d.id}`);
      const i = byId.get(d.id);
      if (i && (i.host === host || i.source === host)) continue;
      withoutInstance++;
      details.push(`domain ${d.id} (${d.powerState}) on ${host}: ${i ? `its instance is on ${i.host ?? 'no host'} (${i.vm_state})` : 'no such instance'}`);
    }
  }
  for (const i of instances) {
    if (!i.host || !NEEDS_DOMAIN.includes(i.vm_state) || !domains.has(i.host) || onHost.has(`${i.host}/${i.id}`)) continue;
    const crashed = [i.host, ...i.left_hosts].filter((h) => crashedHosts.has(h));
    if (crashed.length > 0 && i.power_state === 'nostate') {
      lostWithHypervisor++;
      details.push(`known gap: instance ${i.id} (${i.vm_state}, power nostate) on ${i.host} lost its domain with the hypervisor of ${crashed.join(', ')}`);
      continue;
    }
    withoutDomain++;
    details.push(`instance ${i.id} (${i.vm_state}, power ${i.power_state}) on ${i.host} has no domain there`);
  }
  return { withoutInstance, withoutDomain, lostWithHypervisor };
}

/**
 * Duplicates: a request id with more than one action record (each request sent once, on one
 * instance), or an instance created twice. Lost: an action never finished once all is settled.
 */
export async function checkActions(sql: Sql, records: OpRecord[], details: string[]) {
  const ids = records.map((r) => r.requestId);
  const dup = await sql<{ what: string; n: number }[]>`
    select 'request ' || request_id as what, count(*)::int as n from instance_actions where request_id = any(${ids}) group by request_id having count(*) > 1
    union all
    select 'create of ' || instance_id, count(*)::int from instance_actions where action = 'create' group by instance_id having count(*) > 1`;
  for (const d of dup) details.push(`duplicate actions: ${d.what} has ${d.n}`);
  const open = await sql<{ id: string; instance_id: string; action: string; state: string; exists: boolean }[]>`
    select a.id, a.instance_id, a.action, a.state, exists (select 1 from instances i where i.id = a.instance_id) as exists
      from instance_actions a where a.state in ('pending', 'running')`;
  for (const a of open) details.push(`action ${a.action} ${a.id} of ${a.instance_id}${a.exists ? '' : ' (deleted)'} still ${a.state}`);
  return { duplicate: dup.length, lost: open.length };
}
