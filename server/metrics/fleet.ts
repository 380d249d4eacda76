import { Gauge, type Metric, type Registry } from 'prom-client';
import { deriveStatus, type TaskState, type VmState } from '../../core/instance-status.ts';
import type { Sql } from '../../db/connect.ts';

// Counts that live in the database, read when Prometheus scrapes (never kept in memory, so every
// replica reports the same fleet-wide values: aggregate them with max, not sum).

interface InstanceGroup {
  vm_state: VmState;
  task_state: TaskState | null;
  n: number;
  oldest_seconds: number;
  overdue: number;
  unconverged: number;
}

interface HostGroup {
  up: boolean;
  enabled: boolean;
  n: number;
  heartbeat_age_max: number | null;
}

interface JobGroup {
  task: string;
  ready: number;
  oldest_seconds: number | null;
  locked: number;
  failed: number;
}

interface Snapshot {
  instances: InstanceGroup[];
  hosts: HostGroup[];
  jobs: JobGroup[];
}

/**
 * One scrape reads the database once for all these gauges: prom-client starts every collect() of a
 * scrape at once, so they share the read in flight; the next scrape reads afresh.
 */
function snapshots(sql: Sql, serviceDownSeconds: number): () => Promise<Snapshot> {
  let pending: Promise<Snapshot> | null = null;
  return () => {
    pending ??= read(sql, serviceDownSeconds).finally(() => (pending = null));
    return pending;
  };
}

async function read(sql: Sql, serviceDownSeconds: number): Promise<Snapshot> {
  const [instances, hosts, jobs] = await Promise.all([
    sql<InstanceGroup[]>`
      select vm_state, task_state, count(*)::int as n,
             extract(epoch from now() - min(updated_at))::float8 as oldest_seconds,
             count(*) filter (where task_deadline_at < now())::int as overdue,
             count(*) filter (where host_id is not null and observed_generation < generation)::int as unconverged
        from instances group by vm_state, task_state`,
    sql<HostGroup[]>`
      select up, enabled, count(*)::int as n,
             extract(epoch from now() - min(last_heartbeat_at))::float8 as heartbeat_age_max
        from (select enabled, last_heartbeat_at,
                     not forced_down and coalesce(last_heartbeat_at > now() - make_interval(secs => ${serviceDownSeconds}), false) as up
                from hosts) h
       group by up, enabled`,
    sql<JobGroup[]>`
      select t.identifier as task,
             count(*) filter (where j.is_available and j.run_at <= now())::int as ready,
             extract(epoch from now() - min(j.run_at) filter (where j.is_available and j.run_at <= now()))::float8 as oldest_seconds,
             count(*) filter (where j.locked_at is not null)::int as locked,
             count(*) filter (where j.attempts >= j.max_attempts)::int as failed
        from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
       group by t.identifier`,
  ]);
  return { instances, hosts, jobs };
}

/** A gauge whose values are set from the snapshot at each scrape; series that vanished from the database vanish here too. */
function fromSnapshot<L extends string>(
  snapshot: () => Promise<Snapshot>,
  o: { name: string; help: string; labelNames: readonly L[] },
  fill: (g: Gauge<L>, s: Snapshot) => void,
): Gauge<L> {
  return new Gauge<L>({
    ...o,
    registers: [],
    async collect() {
      const s = await snapshot();
      this.reset();
      fill(this, s);
    },
  });
}

export function registerFleetGauges(registry: Registry, sql: Sql, serviceDownSeconds: number): void {
  const snap = snapshots(sql, serviceDownSeconds);
  const gauges: Metric[] = [
    fromSnapshot(snap, { name: 'orrery_instances', help: 'Instances by status (as the API shows it: ACTIVE, BUILD, SHUTOFF, ERROR, …)', labelNames: ['status'] }, (g, s) => {
      const by = new Map<string, number>();
      for (const r of s.instances) {
        const status = deriveStatus(r.vm_state, r.task_state);
        by.set(status, (by.get(status) ?? 0) + r.n);
      }
      for (const [status, n] of by) g.set({ status }, n);
    }),
    fromSnapshot(snap, { name: 'orrery_instance_task_states', help: 'Instances with a task under way, by task state', labelNames: ['task_state'] }, (g, s) => {
      for (const [task, rows] of byTask(s)) g.set({ task_state: task }, rows.reduce((n, r) => n + r.n, 0));
    }),
    fromSnapshot(
      snap,
      { name: 'orrery_instance_task_state_oldest_seconds', help: 'Per task state, how long since the least recently changed instance in it changed: a stuck task grows here', labelNames: ['task_state'] },
      (g, s) => {
        for (const [task, rows] of byTask(s)) g.set({ task_state: task }, Math.max(...rows.map((r) => r.oldest_seconds)));
      },
    ),
    fromSnapshot(snap, { name: 'orrery_instances_past_task_deadline', help: 'Instances whose task passed its deadline (ORRERY_SPAWN_TIMEOUT_SECONDS and the like) and is not yet ended by the reconciler', labelNames: [] }, (g, s) => {
      g.set(s.instances.reduce((n, r) => n + r.overdue, 0));
    }),
    fromSnapshot(snap, { name: 'orrery_instances_unconverged', help: 'Instances on a host whose agent has not yet reported the latest generation of their spec', labelNames: [] }, (g, s) => {
      g.set(s.instances.reduce((n, r) => n + r.unconverged, 0));
    }),
    fromSnapshot(snap, { name: 'orrery_hosts', help: 'Hosts by state (up: heartbeat lease fresh and not forced down) and whether they are enabled', labelNames: ['state', 'enabled'] }, (g, s) => {
      for (const state of ['up', 'down']) for (const enabled of ['true', 'false']) g.set({ state, enabled }, 0);
      for (const r of s.hosts) g.set({ state: r.up ? 'up' : 'down', enabled: String(r.enabled) }, r.n);
    }),
    fromSnapshot(snap, { name: 'orrery_host_heartbeat_age_max_seconds', help: "Age of the oldest last heartbeat among hosts that are up: the agents' report lag (a host is down past ORRERY_SERVICE_DOWN_SECONDS)", labelNames: [] }, (g, s) => {
      g.set(Math.max(0, ...s.hosts.filter((r) => r.up).map((r) => r.heartbeat_age_max ?? 0)));
    }),
    fromSnapshot(snap, { name: 'orrery_job_queue_depth', help: 'Jobs due and waiting for a worker, by task', labelNames: ['task'] }, (g, s) => {
      for (const r of s.jobs) g.set({ task: r.task }, r.ready);
    }),
    fromSnapshot(snap, { name: 'orrery_job_queue_oldest_age_seconds', help: 'How long the longest-waiting due job has waited, by task (0: none waiting)', labelNames: ['task'] }, (g, s) => {
      for (const r of s.jobs) g.set({ task: r.task }, r.oldest_seconds ?? 0);
    }),
    fromSnapshot(snap, { name: 'orrery_jobs_locked', help: 'Jobs a worker holds (running, or fetched into its local queue), by task', labelNames: ['task'] }, (g, s) => {
      for (const r of s.jobs) g.set({ task: r.task }, r.locked);
    }),
    fromSnapshot(snap, { name: 'orrery_jobs_failed', help: 'Jobs that used up their attempts and will not run again, by task', labelNames: ['task'] }, (g, s) => {
      for (const r of s.jobs) g.set({ task: r.task }, r.failed);
    }),
  ];
  for (const g of gauges) registry.registerMetric(g);
}

function byTask(s: Snapshot): Map<string, InstanceGroup[]> {
  const by = new Map<string, InstanceGroup[]>();
  for (const r of s.instances) if (r.task_state) by.set(r.task_state, [...(by.get(r.task_state) ?? []), r]);
  return by;
}
