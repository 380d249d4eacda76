import { GraphqlRequestError, OrreryClient } from '../../client/graphql.ts';
import type { Sql } from '../../db/connect.ts';

/** The kinds of request the harness sends, each one GraphQL mutation. */
export type OpKind =
  | 'create' | 'delete' | 'stop' | 'start' | 'resize' | 'confirmResize' | 'revertResize'
  | 'migrate' | 'liveMigrate' | 'shelve' | 'unshelve' | 'evacuate';

/** One request and what the API answered: `ack` a success, `refused` an error result, `failed` no answer. */
export interface OpRecord {
  kind: OpKind;
  requestId: string;
  instanceId: string | null;
  outcome: 'ack' | 'refused' | 'failed';
  detail?: string;
}

export const FLAVORS = [
  { name: 'chaos.1', vcpus: 1, ramMb: 512, diskGb: 1 },
  { name: 'chaos.2', vcpus: 2, ramMb: 1024, diskGb: 1 },
  { name: 'chaos.4', vcpus: 4, ramMb: 2048, diskGb: 1 },
];

const RESULT = `__typename ... on Error { message }`;
const MUTATIONS: Record<Exclude<OpKind, 'create' | 'stop' | 'start' | 'resize'>, string> = {
  delete: `mutation($id: ID!) { deleteInstance(id: $id) { ${RESULT} } }`,
  confirmResize: `mutation($id: ID!) { confirmResize(id: $id) { ${RESULT} } }`,
  revertResize: `mutation($id: ID!) { revertResize(id: $id) { ${RESULT} } }`,
  migrate: `mutation($id: ID!) { migrateInstance(id: $id) { ${RESULT} } }`,
  liveMigrate: `mutation($id: ID!) { liveMigrateInstance(id: $id) { ${RESULT} } }`,
  shelve: `mutation($id: ID!) { shelveInstance(id: $id) { ${RESULT} } }`,
  unshelve: `mutation($id: ID!) { unshelveInstance(id: $id) { ${RESULT} } }`,
  evacuate: `mutation($id: ID!) { evacuateInstance(id: $id) { ${RESULT} } }`,
};
const UPDATE = `mutation($id: ID!, $input: UpdateInstanceInput!) { updateInstance(id: $id, input: $input) { ${RESULT} } }`;
const CREATE = `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ${RESULT} ... on CreateInstanceSuccess { instance { id } } } }`;

/** A seeded generator (mulberry32), so a run's choices can be repeated. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Seen {
  id: string;
  vm_state: string;
  task_state: string | null;
  desired_power_state: string;
  flavor: string;
  host_down: boolean;
}

/**
 * Sends `total` mixed operations through the API replicas (round robin), `lanes` at a time. Each
 * one is chosen from the instance's state as the database shows it (so most are legal; the ones
 * that race another change are refused, which is fine); instances on a host that is down are
 * evacuated. Every request carries its own X-Request-Id, which its action record must keep.
 */
export class OpDriver {
  readonly records: OpRecord[] = [];
  /** Instances whose create was acknowledged, and those whose delete was. */
  readonly created = new Set<string>();
  readonly deleted = new Set<string>();
  private sent = 0;
  /** Instances a request of this harness is on now: one at a time each, so none is a no-op raced by another. */
  private readonly busy = new Set<string>();
  private readonly random: () => number;

  constructor(
    private readonly o: { apiUrls: string[]; token: string; sql: Sql; seed: number; downSeconds: number },
  ) {
    this.random = rng(o.seed);
  }

  get done(): number {
    return this.sent;
  }

  /** Sends the operations, operation n not before `intervalMs` × n after the start (spread over the faults). */
  async run(total: number, lanes: number, intervalMs: number, nextFault: () => number): Promise<void> {
    const started = Date.now();
    const clients = Array.from({ length: lanes }, (_, l) => new OrreryClient(this.o.apiUrls[l % this.o.apiUrls.length]!, this.o.token));
    await Promise.all(clients.map(async (client, l) => {
      const alternate = new OrreryClient(this.o.apiUrls[(l + 1) % this.o.apiUrls.length]!, this.o.token);
      while (this.sent < total) {
        // Not past the next fault's point until it has happened: the faults come among the operations.
        if (this.sent >= Math.ceil(nextFault() * total) && this.sent > 0 && nextFault() < 1) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const n = this.sent++;
        const wait = started + n * intervalMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = await this.one(n % 2 === 0 ? client : alternate, n);
        // No answer: the API or the database is down; give it a moment rather than spend the operations on it.
        if (r.outcome === 'failed') await new Promise((res) => setTimeout(res, 1000));
      }
    }));
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  private async candidates(): Promise<Seen[]> {
    const live = [...this.created].filter((id) => !this.deleted.has(id) && !this.busy.has(id));
    if (live.length === 0) return [];
    return this.o.sql<Seen[]>`
      select i.id, i.vm_state, i.task_state, i.desired_power_state, f.name as flavor,
             i.host_id is not null and not coalesce(h.last_heartbeat_at > now() - make_interval(secs => ${this.o.downSeconds}), false) as host_down
        from instances i join flavors f on f.id = i.flavor_id left join hosts h on h.id = i.host_id
       where i.id = any(${live}::uuid[]) and i.delete_requested_at is null`;
  }

  /** The next operation: a create now and then (more while there are few instances), else one that fits a chosen instance. */
  private choose(seen: Seen[]): { kind: OpKind; inst: Seen | null } {
    if (seen.length < 8 || this.random() < 0.2) return { kind: 'create', inst: null };
    const down = seen.filter((s) => s.host_down && s.task_state === null && ['active', 'stopped', 'error'].includes(s.vm_state));
    if (down.length > 0 && this.random() < 0.7) return { kind: 'evacuate', inst: this.pick(down) };
    const idle = seen.filter((s) => s.task_state === null);
    // Now and then an instance that is busy: its operation is refused, or waits its turn.
    const inst = idle.length > 0 && this.random() < 0.9 ? this.pick(idle) : this.pick(seen);
    const options: Record<string, OpKind[]> = {
      active: ['stop', 'resize', 'resize', 'migrate', 'liveMigrate', 'liveMigrate', 'shelve', 'delete'],
      stopped: ['start', 'start', 'resize', 'migrate', 'shelve', 'delete'],
      resized: ['confirmResize', 'revertResize'],
      shelved_offloaded: ['unshelve', 'unshelve', 'delete'],
      error: ['delete'],
    };
    // A power change to the state already asked for is a no-op (declarative), with no action: not sent.
    const kinds = (options[inst.vm_state] ?? ['delete', 'stop', 'migrate']).filter(
      (k) => !(k === 'stop' && inst.desired_power_state === 'stopped') && !(k === 'start' && inst.desired_power_state === 'running'));
    return { kind: this.pick(kinds.length > 0 ? kinds : ['delete']), inst };
  }

  /** Sends one chosen operation on a given instance (the settling phase's confirmations). */
  async sendOne(client: OrreryClient, kind: OpKind, instanceId: string, tag: string): Promise<OpRecord> {
    const seen: Seen = { id: instanceId, vm_state: '', task_state: null, desired_power_state: '', flavor: '', host_down: false };
    return this.exec(client, kind, seen, `chaos-${this.o.seed}-${tag}-${kind}`, 0);
  }

  private async one(client: OrreryClient, n: number): Promise<OpRecord> {
    // Other lanes ran while the query did: what they took since is left out, and the choice is
    // marked busy before anything else can run (two requests on one instance at once would let a
    // no-op answer one of them, as a second delete of an instance being deleted is).
    const free = (await this.candidates().catch(() => [] as Seen[])).filter((s) => !this.busy.has(s.id));
    const { kind, inst } = this.choose(free);
    if (inst) this.busy.add(inst.id);
    return this.exec(client, kind, inst, `chaos-${this.o.seed}-${n}-${kind}`, n);
  }

  private async exec(client: OrreryClient, kind: OpKind, inst: Seen | null, requestId: string, n: number): Promise<OpRecord> {
    const record: OpRecord = { kind, requestId, instanceId: inst?.id ?? null, outcome: 'failed' };
    this.records.push(record);
    try {
      const r = await this.send(client, kind, inst, requestId, n);
      record.outcome = r.__typename.endsWith('Success') ? 'ack' : 'refused';
      if (record.outcome === 'refused') record.detail = `${r.__typename}: ${r.message ?? ''}`;
      if (record.outcome === 'ack' && kind === 'create') {
        record.instanceId = r.instance!.id;
        this.created.add(r.instance!.id);
      }
      if (record.outcome === 'ack' && kind === 'delete') this.deleted.add(inst!.id);
    } catch (e) {
      record.detail = e instanceof GraphqlRequestError ? `${e.code ?? e.status}: ${e.message}` : (e as Error).message;
    } finally {
      if (inst) this.busy.delete(inst.id);
    }
    return record;
  }

  private async send(client: OrreryClient, kind: OpKind, inst: Seen | null, requestId: string, n: number) {
    type Answer = { __typename: string; message?: string; instance?: { id: string } };
    const field = (d: Record<string, Answer>) => Object.values(d)[0]!;
    if (kind === 'create') {
      const input = { name: `chaos-${n}`, flavor: this.pick(FLAVORS).name, image: 'chaos-image', powerState: this.random() < 0.1 ? 'stopped' : 'running' };
      return field(await client.request(CREATE, { input }, requestId));
    }
    const id = inst!.id;
    if (kind === 'stop' || kind === 'start') {
      return field(await client.request(UPDATE, { id, input: { powerState: kind === 'stop' ? 'stopped' : 'running' } }, requestId));
    }
    if (kind === 'resize') {
      const flavor = this.pick(FLAVORS.filter((f) => f.name !== inst!.flavor)).name;
      return field(await client.request(UPDATE, { id, input: { flavor } }, requestId));
    }
    return field(await client.request(MUTATIONS[kind], { id }, requestId));
  }
}
