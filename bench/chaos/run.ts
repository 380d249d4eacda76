import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Sql } from '../../db/connect.ts';
import { CHAOS_TIMINGS, Cluster } from './cluster.ts';
import { checkAcknowledged, checkActions, checkAllocations, checkDomains, checkUsage, type Findings } from './checks.ts';
import { faultPlan, FaultRunner, type FaultLog } from './faults.ts';
import { FLAVORS, OpDriver, type OpRecord } from './ops.ts';

export interface ChaosOptions {
  ops: number;
  hosts: number;
  hostProcesses: number;
  seed: number;
  /** Requests in flight at once. */
  lanes: number;
  /** The operations are spread over about this long (the faults with them). */
  spreadSeconds: number;
  /** How long instances may take to leave their task states once the faults are over. */
  settleSeconds: number;
  /** The fault plan (bench/chaos/faults.ts): `short` for a run of a few hundred operations. */
  faults: 'full' | 'short';
  say: (line: string) => void;
}

export interface ChaosResult {
  findings: Findings;
  records: OpRecord[];
  faults: FaultLog[];
  /** Instances in ERROR at the end (a legitimate way out of a fault; shown, not failed on). */
  errorInstances: number;
  liveInstances: number;
  seconds: { setup: number; operations: number; settle: number; total: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function prepare(cluster: Cluster, sql: Sql): Promise<void> {
  const admin = cluster.admin();
  for (const f of FLAVORS) {
    const d = await admin.request(`mutation($i: FlavorInput!) { createFlavor(input: $i) { __typename ... on Error { message } } }`, { i: f });
    if (d.createFlavor.__typename !== 'CreateFlavorSuccess') throw new Error(`createFlavor: ${d.createFlavor.message}`);
  }
  const [project] = await sql<{ id: string }[]>`select id from projects where name = 'admin'`;
  await sql`insert into images (name, owner_project_id, visibility, disk_format, status, checksum, size_bytes)
            values ('chaos-image', ${project!.id}, 'public', 'qcow2', 'active', ${'0'.repeat(64)}, 0)`;
  await sql`insert into quota_limits (project_id, resource, hard_limit) select ${project!.id}, resource, -1 from quota_defaults
            on conflict do nothing`;
  const enroll = await admin.request(`mutation { createEnrollmentToken(description: "chaos") {
    ... on CreateEnrollmentTokenSuccess { token { secret } } } }`);
  await cluster.startHosts(enroll.createEnrollmentToken.token.secret);
}

/**
 * After the faults: confirms every move left awaiting confirmation (the user's part), and waits
 * until no instance is in a task state, for at most `seconds`. Returns the instances still in one.
 */
async function settle(cluster: Cluster, sql: Sql, driver: OpDriver, seconds: number, say: (s: string) => void): Promise<number> {
  const until = Date.now() + seconds * 1000;
  const admin = cluster.admin();
  let round = 0;
  for (;;) {
    const rows = await sql<{ id: string; vm_state: string; task_state: string | null }[]>`
      select id, vm_state, task_state from instances where task_state is not null or vm_state = 'resized'`.catch(() => null);
    if (rows) {
      for (const r of rows.filter((x) => x.vm_state === 'resized' && x.task_state === null)) {
        await driver.sendOne(admin, 'confirmResize', r.id, `settle${round}-${r.id}`);
      }
      const busy = rows.filter((x) => x.task_state !== null);
      if (rows.length === 0) return 0;
      if (Date.now() > until) {
        for (const b of busy) say(`  still ${b.task_state} (${b.vm_state}): ${b.id}`);
        return busy.length;
      }
      if (round % 5 === 0) say(`settling: ${busy.length} instance(s) in a task state, ${rows.length - busy.length} to confirm`);
    }
    round++;
    await sleep(2000);
  }
}

/** Waits (at most `seconds`) until every agent has caught up with its instances' specs. */
async function converged(sql: Sql, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const [r] = await sql<{ n: number }[]>`
      select count(*)::int as n from instances where host_id is not null and observed_generation <> generation`;
    if (r!.n === 0) return;
    await sleep(1000);
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'orrery-chaos-'));
  const cluster = new Cluster({ workDir, apis: 2, workers: 2, hosts: o.hosts, hostProcesses: o.hostProcesses });
  let sql: Sql | null = null;
  try {
    await cluster.start();
    sql = connect(cluster.dbUrl, { max: 4 });
    await prepare(cluster, sql);
    const tSetup = Date.now();
    o.say(`setup: PostgreSQL, ${cluster.count('api')} APIs, ${cluster.count('worker')} workers, ${o.hosts} hollow hosts in ${o.hostProcesses} processes (${((tSetup - t0) / 1000).toFixed(1)} s)`);

    const driver = new OpDriver({ apiUrls: cluster.apiUrls, token: cluster.adminToken, sql, seed: o.seed, downSeconds: CHAOS_TIMINGS.serviceDownSeconds });
    const progress = () => driver.done / o.ops;
    const ticker = setInterval(() => {
      const acked = driver.records.filter((r) => r.outcome === 'ack').length;
      o.say(`operations: ${driver.done}/${o.ops} sent, ${acked} acknowledged`);
    }, 15_000);
    const faultRunner = new FaultRunner(cluster, faultPlan({ apis: 2, workers: 2, hostProcesses: o.hostProcesses }, o.faults), (s) => o.say(`fault: ${s}`));
    const ops = driver.run(o.ops, o.lanes, (o.spreadSeconds * 1000) / o.ops, () => faultRunner.next);
    const faults = await faultRunner.run(progress);
    await ops;
    clearInterval(ticker);
    const tOps = Date.now();
    o.say(`operations done in ${((tOps - tSetup) / 1000).toFixed(1)} s; settling`);

    const details: string[] = [];
    const stuckInTask = await settle(cluster, sql, driver, o.settleSeconds, o.say);
    await converged(sql, 30);
    // Agents remove what is no longer theirs on their next look (a watch event or a resync): give them until it matches.
    const crashed = new Set(cluster.slots.filter((x) => x.role === 'hosts' && x.kills > 0).flatMap((x) => cluster.hostNames[x.index]!));
    let domains = { withoutInstance: 0, withoutDomain: 0, lostWithHypervisor: 0 };
    for (let attempt = 0; ; attempt++) {
      const d: string[] = [];
      domains = await checkDomains(sql, await cluster.domains(), crashed, d);
      if (domains.withoutInstance + domains.withoutDomain === 0 || attempt === 15) {
        details.push(...d);
        break;
      }
      await sleep(2000);
    }
    const tSettle = Date.now();
    const ackLost = await checkAcknowledged(sql, driver.records, driver.deleted, details);
    const allocationMismatch = await checkAllocations(sql, details);
    const usageMismatch = await checkUsage(sql, details);
    const actions = await checkActions(sql, driver.records, details);
    const [counts] = await sql<{ error: number; live: number }[]>`
      select count(*) filter (where vm_state = 'error')::int as error, count(*)::int as live from instances`;
    return {
      findings: {
        ackLost, stuckInTask, allocationMismatch, usageMismatch,
        domainsWithoutInstance: domains.withoutInstance, instancesWithoutDomain: domains.withoutDomain,
        domainsLostWithHypervisor: domains.lostWithHypervisor,
        duplicateActions: actions.duplicate, lostActions: actions.lost, details,
      },
      records: driver.records,
      faults,
      errorInstances: counts!.error,
      liveInstances: counts!.live,
      seconds: { setup: (tSetup - t0) / 1000, operations: (tOps - tSetup) / 1000, settle: (tSettle - tOps) / 1000, total: (Date.now() - t0) / 1000 },
    };
  } catch (e) {
    o.say(cluster.tails());
    throw e;
  } finally {
    await sql?.end({ timeout: 5 });
    await cluster.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}
