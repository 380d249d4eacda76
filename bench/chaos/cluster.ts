import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { OrreryClient } from '../../client/graphql.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.ts';
import type { DumpedDomain } from '../../hostagent/domain-dump.ts';
import { startOrrery, type OrreryProcess } from '../../test/support/orrery-process.ts';
import { withDatabase } from '../fleet-db.ts';

export type Role = 'api' | 'worker' | 'hosts';

/** Settings the processes share: short leases and deadlines, so faults show (and heal) within a run. */
export const CHAOS_TIMINGS = {
  serviceDownSeconds: 8,
  sweepSeconds: 3,
  /** A job lost with a killed worker is found again this long after its instance last moved. */
  staleSeconds: 10,
  taskTimeoutSeconds: 45,
  heartbeatSeconds: 2,
  resyncSeconds: 10,
};

/** One process the harness may kill -9 and start again with the same arguments (and port). */
class Slot {
  proc: OrreryProcess | null = null;
  kills = 0;

  constructor(
    readonly role: Role,
    readonly index: number,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly readyLog: string,
  ) {}

  /** Starts it and waits until it is ready; a start that dies (its database restarting, say) is tried again. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.proc = startOrrery(this.args, this.env);
      try {
        await this.proc.waitForLog(this.readyLog, 120_000);
        return;
      } catch (e) {
        await this.proc.stop('SIGKILL');
        if (attempt === 5) throw e;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }

  async kill9(): Promise<void> {
    await this.proc?.stop('SIGKILL');
    this.kills++;
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM');
  }
}

export interface ClusterOptions {
  workDir: string;
  apis: number;
  workers: number;
  hosts: number;
  /** Hollow-host processes the hosts are split into (each a unit of kill -9). */
  hostProcesses: number;
}

/**
 * PostgreSQL (embedded, its own, restartable on the same port), `orrery api` ×N, `orrery worker`
 * ×N and hollow-host processes, all on 127.0.0.1, each startable again after a kill -9.
 */
export class Cluster {
  readonly adminToken = `orr_u_${randomBytes(32).toString('base64url')}`;
  readonly apiUrls: string[] = [];
  readonly slots: Slot[] = [];
  /** Host names by hollow-host process. */
  readonly hostNames: string[][] = [];
  dbUrl = '';
  pgRestarts = 0;
  private db: EmbeddedDatabase | null = null;
  private pgPort = 0;

  constructor(private readonly o: ClusterOptions) {}

  private get pgDir(): string {
    return path.join(this.o.workDir, 'pg');
  }

  async start(): Promise<void> {
    await chmod(this.o.workDir, 0o755); // the embedded server runs as the postgres user when we are root
    this.pgPort = await freePort();
    this.db = await startEmbeddedPostgres(this.pgDir, { port: this.pgPort, durable: false });
    this.dbUrl = withDatabase(this.db.url, 'orrery');
    const dataDir = path.join(this.o.workDir, 'control-plane'); // shared by the replicas, as shared storage would be
    await mkdir(dataDir, { recursive: true });
    const env = {
      DATABASE_URL: this.dbUrl,
      ORRERY_ADMIN_TOKEN: this.adminToken,
      ORRERY_DATA_DIR: dataDir,
      ORRERY_SERVICE_DOWN_SECONDS: String(CHAOS_TIMINGS.serviceDownSeconds),
      // Leases renewed as often as the agents ping: the default (10 s) exceeds these short leases.
      ORRERY_LEASE_RENEW_SECONDS: String(CHAOS_TIMINGS.heartbeatSeconds),
      ORRERY_SWEEP_INTERVAL_SECONDS: String(CHAOS_TIMINGS.sweepSeconds),
      ORRERY_SWEEP_STALE_SECONDS: String(CHAOS_TIMINGS.staleSeconds),
      ORRERY_SPAWN_TIMEOUT_SECONDS: String(CHAOS_TIMINGS.taskTimeoutSeconds),
      ORRERY_DELETE_TIMEOUT_SECONDS: String(CHAOS_TIMINGS.taskTimeoutSeconds),
      ORRERY_MUTATIONS_PER_SECOND: '0',
      ORRERY_WORKER_CONCURRENCY: '5',
      ORRERY_LISTEN: '127.0.0.1',
    };
    for (let a = 0; a < this.o.apis; a++) {
      const port = await freePort();
      this.slots.push(new Slot('api', a, ['api'], { ...env, ORRERY_PORT: String(port) }, 'Orrery API listening'));
      this.apiUrls.push(`http://127.0.0.1:${port}`);
    }
    const workers = Array.from({ length: this.o.workers }, (_, w) => new Slot('worker', w, ['worker'], env, 'Orrery worker running'));
    this.slots.push(...workers);
    // The first API installs the schema; the other processes start together once it has.
    const [first, ...rest] = this.slots;
    await first!.start();
    await Promise.all(rest.map((s) => s.start()));
  }

  /** The hollow hosts, split over `hostProcesses` processes, each talking to one API replica. */
  async startHosts(enrollmentToken: string): Promise<void> {
    const groups = this.o.hostProcesses;
    const fleets: Slot[] = [];
    for (let g = 0; g < groups; g++) {
      const n = Math.floor(this.o.hosts / groups) + (g < this.o.hosts % groups ? 1 : 0);
      const prefix = `chaos-${g}-`;
      const width = String(n).length;
      this.hostNames.push(Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`));
      const args = ['hostagent', '--driver', 'fake', '--hosts', String(n), '--name-prefix', prefix,
        '--api', this.apiUrls[g % this.apiUrls.length]!, '--enrollment-token', enrollmentToken,
        '--state-dir', path.join(this.o.workDir, `hosts-${g}`), '--heartbeat', String(CHAOS_TIMINGS.heartbeatSeconds),
        '--resync', String(CHAOS_TIMINGS.resyncSeconds), '--start-concurrency', '10',
        '--dump-domains', this.dumpFile(g)];
      fleets.push(new Slot('hosts', g, args, {}, 'all hollow hosts enrolled'));
    }
    this.slots.push(...fleets);
    await Promise.all(fleets.map((f) => f.start()));
  }

  private dumpFile(g: number): string {
    return path.join(this.o.workDir, `domains-${g}.json`);
  }

  slot(role: Role, index: number): Slot {
    return this.slots.find((s) => s.role === role && s.index === index)!;
  }

  count(role: Role): number {
    return this.slots.filter((s) => s.role === role).length;
  }

  /** kill -9 one process; with `downMs`, start it again after that long (the harness waits). */
  async killAndRestart(role: Role, index: number, downMs: number): Promise<void> {
    const s = this.slot(role, index);
    await s.kill9();
    await new Promise((r) => setTimeout(r, downMs));
    await s.start();
  }

  /** Stops PostgreSQL (fast shutdown: every session dropped) and starts it again on the same data and port. */
  async restartPostgres(downMs: number): Promise<void> {
    await this.db!.stop();
    await new Promise((r) => setTimeout(r, downMs));
    this.db = await startEmbeddedPostgres(this.pgDir, { port: this.pgPort, durable: false });
    this.pgRestarts++;
  }

  /** Every hollow host's fake domains, as its process dumps them on SIGUSR2. */
  async domains(): Promise<Map<string, DumpedDomain[]>> {
    const out = new Map<string, DumpedDomain[]>();
    for (const s of this.slots.filter((x) => x.role === 'hosts')) {
      const dumped = s.proc!.waitForLog('fake domains dumped', 30_000);
      process.kill(s.proc!.pid, 'SIGUSR2');
      await dumped;
      const parsed = JSON.parse(await readFile(this.dumpFile(s.index), 'utf8')) as { hosts: Record<string, DumpedDomain[]> };
      for (const [name, doms] of Object.entries(parsed.hosts)) out.set(name, doms);
    }
    return out;
  }

  admin(i = 0): OrreryClient {
    return new OrreryClient(this.apiUrls[i % this.apiUrls.length]!, this.adminToken);
  }

  tails(): string {
    return this.slots.map((s) => `--- ${s.role} ${s.index} (pid ${s.proc?.pid})\n${s.proc?.tail() ?? ''}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const role of ['hosts', 'api', 'worker'] as const) {
      await Promise.all(this.slots.filter((s) => s.role === role).map((s) => s.stop()));
    }
    await this.db?.stop();
  }
}
