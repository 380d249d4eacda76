import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLog } from '../core/log.ts';
import { startHollowHosts, type HollowHost } from '../hostagent/hollow.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { createFlavor, createInstance, seedImage, waitFor } from './support/fixtures.ts';
import { agentRegistry } from '../hostagent/metrics.ts';
import { parseMetrics, scrape, type Scrape } from './support/prometheus.ts';

const HOSTS = 20;
const BATCHES = 3;
const PER_BATCH = 100;
const SINGLES = 4;
const N = BATCHES * PER_BATCH + SINGLES;

let tcp: TestControlPlane;
let fleet: HollowHost[] & { stop(): Promise<void> };
const stateDir = path.join(os.tmpdir(), `orrery-metrics-test-${process.pid}-${Date.now()}`);

const CREATE = `mutation($i: [CreateInstanceInput!]!) { createInstances(inputs: $i) { __typename ... on Error { message } } }`;

beforeAll(async () => {
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm.small', 1, 256, 1);
  await createFlavor(tcp.admin, 'm.huge', 1, 1_000_000, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  await tcp.db.sql`insert into quota_limits (project_id, resource, hard_limit) select ${tcp.adminProjectId}, resource, -1 from quota_defaults`;
  // Each host takes 4096 MiB × 1.5 / 256 = 24 instances: 480 places for N.
  fleet = await startHollowHosts({
    apiUrl: tcp.url, count: HOSTS, namePrefix: 'metrics-', enrollmentToken: await enrollmentToken(tcp.admin), stateDir,
    heartbeatSeconds: 1, resyncSeconds: 30, consoleSeconds: 30, startConcurrency: 10,
    driver: { vcpus: 64, memoryMb: 4096, diskGb: 1000, delayMs: 1 }, log: rootLog(),
  });
});

afterAll(async () => {
  await fleet?.stop();
  await tcp?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const metrics = () => scrape(`${tcp.url}/metrics`);
// The hollow hosts run in this process: their metrics are this process's agent registry.
const agentMetrics = async () => parseMetrics(await agentRegistry().metrics());
const grew = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  after.value(name, labels) - before.value(name, labels);

describe('/metrics on the control plane', () => {
  it('needs no token, and shows the connected fleet: hosts up, one socket and one watch per agent', async () => {
    const res = await fetch(`${tcp.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = await metrics();
    expect(m.value('orrery_hosts', { state: 'up', enabled: 'true' })).toBe(HOSTS);
    expect(m.value('orrery_hosts', { state: 'down' })).toBe(0);
    expect(m.value('orrery_graphql_sockets', { principal: 'host' })).toBe(HOSTS);
    expect(m.value('orrery_graphql_active_subscriptions', { field: 'agentAssignmentChanges' })).toBe(HOSTS);
    expect(m.value('orrery_host_heartbeat_age_max_seconds')).toBeLessThan(5);
    expect(m.value('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it(`move as ${N} instances are built on hollow hosts`, { timeout: 120_000 }, async () => {
    const [before, agentBefore] = [await metrics(), await agentMetrics()];
    for (let b = 0; b < BATCHES; b++) {
      const inputs = Array.from({ length: PER_BATCH }, (_, i) => ({ name: `bulk-${b}-${i}`, flavor: 'm.small', image: 'test-image' }));
      expect((await tcp.admin.request(CREATE, { i: inputs })).createInstances.__typename).toBe('CreateInstancesSuccess');
    }
    for (let i = 0; i < SINGLES; i++) {
      expect((await createInstance(tcp.admin, { name: `one-${i}`, flavor: 'm.small', image: 'test-image' })).__typename).toBe('CreateInstanceSuccess');
    }
    await waitFor(
      'every instance ACTIVE',
      () => tcp.db.sql<{ n: number }[]>`select count(*)::int as n from instances where vm_state = 'active' and task_state is null`,
      (r) => r[0]!.n === N,
      100_000,
    );
    const [after, agentAfter] = [await metrics(), await agentMetrics()];

    expect(after.value('orrery_instances', { status: 'ACTIVE' })).toBe(N);
    expect(after.value('orrery_instances', { status: 'BUILD' })).toBe(0);
    // The API counted and timed each create, over HTTP.
    const creates = { type: 'mutation', field: 'createInstances', transport: 'http', outcome: 'success' };
    expect(grew(before, after, 'orrery_graphql_operations_total', creates)).toBe(BATCHES);
    expect(grew(before, after, 'orrery_graphql_operation_duration_seconds_count', { field: 'createInstances', transport: 'http' })).toBe(BATCHES);
    expect(grew(before, after, 'orrery_graphql_operations_total', { field: 'createInstance', outcome: 'success' })).toBe(SINGLES);
    // The agents' reports came over their sockets, each one counted and timed.
    const reports = grew(before, after, 'orrery_graphql_operations_total', { field: 'reportInstances', transport: 'ws', outcome: 'success' });
    expect(reports).toBeGreaterThan(0);
    expect(grew(before, after, 'orrery_graphql_operation_duration_seconds_count', { field: 'reportInstances', transport: 'ws' })).toBe(reports);
    // Every instance was placed once, by the batch path or one at a time.
    expect(grew(before, after, 'orrery_placement_decisions_total', { result: 'claimed' })).toBe(N);
    // The worker ran placement and reconcile jobs, each counted and timed.
    for (const task of ['place_instances', 'complete_builds']) {
      const runs = grew(before, after, 'orrery_reconcile_runs_total', { task, result: 'success' });
      expect(runs, task).toBeGreaterThan(0);
      expect(grew(before, after, 'orrery_reconcile_duration_seconds_count', { task }), task).toBe(runs);
    }
    expect(after.value('orrery_reconcile_runs_total', { result: 'error' })).toBe(before.value('orrery_reconcile_runs_total', { result: 'error' }));
    expect(after.value('orrery_instances_unconverged')).toBe(0);
    expect(after.value('orrery_instance_task_states')).toBe(0);
    // The agents built each domain with one driver call, timed, through converge steps that succeeded.
    expect(grew(agentBefore, agentAfter, 'orrery_agent_driver_call_duration_seconds_count', { operation: 'create' })).toBe(N);
    expect(grew(agentBefore, agentAfter, 'orrery_agent_converge_duration_seconds_count', { result: 'success' })).toBeGreaterThanOrEqual(N);
    expect(grew(agentBefore, agentAfter, 'orrery_agent_pass_duration_seconds_count')).toBeGreaterThan(0);
    expect(agentAfter.value('orrery_agent_driver_errors_total')).toBe(0);
  });

  it('count operations that never ran under field "unknown", so no client can make up label values', async () => {
    const before = await metrics();
    await expect(tcp.admin.request(`{ madeUpField }`)).rejects.toThrow(/madeUpField/);
    await expect(tcp.admin.requestOverSocket(`{ anotherMadeUpField }`)).rejects.toThrow(/anotherMadeUpField/);
    const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: whoami { kind }`).join(' ');
    await expect(tcp.admin.request(`{ ${aliases} }`)).rejects.toThrow(/ORRERY_QUERY_MAX_ALIASES/);
    await expect(tcp.admin.requestOverSocket(`{ whoami { kind } whoami2: whoami { kind } }`)).resolves.toEqual({
      whoami: { kind: 'user' }, whoami2: { kind: 'user' },
    });
    const after = await metrics();
    expect(grew(before, after, 'orrery_graphql_operations_total', { field: 'unknown', transport: 'http', outcome: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(grew(before, after, 'orrery_graphql_operations_total', { type: 'query', field: 'unknown', transport: 'ws' })).toBe(1);
    expect(grew(before, after, 'orrery_graphql_operations_total', { type: 'unknown', transport: 'http', outcome: 'QUERY_LIMIT_EXCEEDED' })).toBe(1);
    expect(grew(before, after, 'orrery_graphql_operations_total', { type: 'query', field: 'whoami', transport: 'ws', outcome: 'success' })).toBe(1);
    expect(after.samples.filter((x) => /MadeUp/i.test(JSON.stringify(x.labels)))).toEqual([]);
  });

  it('count a NoValidHost under the filter that refused every host', async () => {
    const before = await metrics();
    expect((await createInstance(tcp.admin, { name: 'too-big', flavor: 'm.huge', image: 'test-image' })).__typename).toBe('CreateInstanceSuccess');
    await waitFor('too-big in ERROR', () => tcp.db.sql<{ vm_state: string }[]>`select vm_state from instances where name = 'too-big'`, (r) => r[0]?.vm_state === 'error');
    const after = await metrics();
    expect(grew(before, after, 'orrery_placement_no_valid_host_total', { filter: 'RAM' })).toBe(1);
    expect(grew(before, after, 'orrery_placement_decisions_total', { path: 'single', result: 'no_valid_host' })).toBe(1);
    expect(after.value('orrery_instances', { status: 'ERROR' })).toBe(1);
  });

  it('report the job queue from graphile-worker\'s tables at scrape time: depth and the age of the oldest due job', async () => {
    // A job for a task no worker runs: it stays due, as a job would behind stuck workers.
    await tcp.db.sql`select graphile_worker.add_job('nobody_runs_this', '{}'::json, run_at := now() - interval '90 seconds')`;
    const m = await metrics();
    expect(m.value('orrery_job_queue_depth', { task: 'nobody_runs_this' })).toBe(1);
    expect(m.value('orrery_job_queue_oldest_age_seconds', { task: 'nobody_runs_this' })).toBeGreaterThanOrEqual(90);
    await tcp.db.sql`delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t
                      where t.id = j.task_id and t.identifier = 'nobody_runs_this'`;
    expect((await metrics()).value('orrery_job_queue_depth', { task: 'nobody_runs_this' })).toBe(0);
  });
});
