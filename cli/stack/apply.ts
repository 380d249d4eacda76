import { GraphqlRequestError, type OrreryClient } from '../../client/graphql.ts';
import type { StackKind } from '../../schema/documents/stack.ts';
import { CliError } from '../client/errors.ts';
import { deriveStatus, settledVmState, type DesiredPowerState } from '../../core/instance-status.ts';
import { followInstance, settlesAt } from '../client/follow.ts';
import * as api from './mutations.ts';
import type { Change, Plan, RuleChange, Specs } from './changes.ts';
import { LABEL } from './plan.ts';

const say = (line: string) => process.stdout.write(line + '\n');

/** The status an instance settles at for a desired power state (ACTIVE, SHUTOFF, …). */
const settledStatus = (power: string) => deriveStatus(settledVmState(power as DesiredPowerState));

/**
 * Catalogue kinds in the order they are created (a subnet after its network); deletions go the other
 * way, instances first.
 */
const CATALOGUE: Exclude<StackKind, 'instance'>[] = ['flavor', 'availabilityZone', 'aggregate', 'keyPair', 'serverGroup', 'network', 'subnet', 'securityGroup'];

type InstanceChange = Extract<Change, { kind: 'instance' }>;

/**
 * The updates one instance needs, in order: image (rebuild), then flavor (resize), then power
 * state, one per call as the API takes them; metadata and tags ride along with the first.
 */
function instanceSteps(c: Extract<InstanceChange, { op: 'update' }>): api.InstanceStep[] {
  const changed = new Set(c.fields.map((f) => f.field));
  const s = c.spec;
  const light: api.InstanceStep = {
    ...(changed.has('metadata') ? { metadata: s.metadata ?? {} } : {}),
    ...(changed.has('tags') ? { tags: s.tags ?? [] } : {}),
  };
  const heavy: api.InstanceStep[] = [
    ...(changed.has('image') ? [{ image: s.image }] : []),
    ...(changed.has('flavor') ? [{ flavor: s.flavor }] : []),
    ...(changed.has('powerState') ? [{ powerState: s.powerState ?? 'running' }] : []),
  ];
  return heavy.length === 0 ? [light] : heavy.map((h, i) => (i === 0 ? { ...light, ...h } : h));
}

export class Applier {
  private failures: string[] = [];

  constructor(
    private client: OrreryClient,
    private plan: Plan,
    private wait: boolean,
  ) {}

  private record(kind: StackKind, name: string, id: string, spec: unknown) {
    return api.recordOwned(this.client, this.plan.stack, kind, name, id, spec);
  }

  /** Carries the plan out; throws a CliError listing what failed (what succeeded stays recorded). */
  async run(): Promise<void> {
    const changes = this.plan.changes;
    // A replacement's old resource goes first, dependents before what they depend on (a subnet before its network).
    for (const kind of [...CATALOGUE].reverse()) {
      for (const c of changes) if (c.kind === kind && c.op === 'replace') await api.deleteResource(this.client, c.kind, c.id, c.name);
    }
    for (const kind of CATALOGUE) for (const c of changes) if (c.kind === kind) await this.catalogueChange(c);
    // Rules once every group exists (a rule may name another group); a set's new rules before its old ones go.
    for (const op of ['create', 'delete'] as const) {
      for (const c of changes) if (c.kind === 'securityGroupRule' && c.op === op) await this.ruleChange(c);
    }
    const instances = changes.filter((c): c is InstanceChange => c.kind === 'instance');
    await Promise.all(instances.map((c) => this.instanceChange(c).catch((e: unknown) => this.failed(`instance/${c.name}`, e))));
    // A failed instance may still use what the file dropped: catalogue deletions wait for a clean run.
    if (this.failures.length > 0) throw new CliError('apply did not finish', this.failures);
    for (const kind of [...CATALOGUE].reverse()) {
      for (const c of changes) if (c.kind === kind && c.op === 'delete') await this.catalogueDelete(c.kind, c.id, c.name);
    }
  }

  /** One instance's failure is reported with the others'; the rest carry on. */
  private failed(ref: string, e: unknown): void {
    if (e instanceof CliError) this.failures.push(`${ref}: ${e.message}`, ...e.details.map((d) => `  ${d}`));
    else if (e instanceof GraphqlRequestError) this.failures.push(`${ref}: ${e.message}`);
    else throw e;
  }

  private async ruleChange(c: RuleChange): Promise<void> {
    if (c.op === 'create') await api.createRule(this.client, c.name, c.rule);
    else await api.deleteRule(this.client, c.id);
    say(`${LABEL[c.kind]}/${c.name} ${c.op === 'create' ? 'added' : 'removed'} (${c.text})`);
  }

  private async catalogueChange(c: Exclude<Change, InstanceChange | RuleChange>): Promise<void> {
    const ref = `${LABEL[c.kind]}/${c.name}`;
    switch (c.op) {
      case 'create':
        await this.record(c.kind, c.name, await api.createResource(this.client, c.kind, c.spec), c.spec);
        say(`${ref} created`);
        return;
      case 'replace':
        await this.record(c.kind, c.name, await api.createResource(this.client, c.kind, c.spec), c.spec);
        say(`${ref} replaced`);
        return;
      case 'update':
        // Only zones and aggregates change in place (the other kinds' diffs are replace or fixed).
        if (c.kind === 'availabilityZone' || c.kind === 'aggregate') await api.updateResource(this.client, c.kind, c.id, c.spec);
        await this.record(c.kind, c.name, c.id, c.spec);
        say(`${ref} updated`);
        return;
      case 'record':
        return this.record(c.kind, c.name, c.id, c.spec);
      case 'forget':
        return api.forgetOwned(this.client, this.plan.stack, c.kind, c.name);
    }
  }

  /** Deleted after the instances that might use it are gone (a flavor in use cannot be deleted). */
  private async catalogueDelete(kind: Exclude<StackKind, 'instance'>, id: string, name: string): Promise<void> {
    await api.deleteResource(this.client, kind, id, name);
    await api.forgetOwned(this.client, this.plan.stack, kind, name);
    say(`${LABEL[kind]}/${name} deleted`);
  }

  private async instanceChange(c: InstanceChange): Promise<void> {
    const ref = `instance/${c.name}`;
    const settles = (s: Specs['instance'], generation: number) => settlesAt(settledStatus(s.powerState ?? 'running'), generation);
    switch (c.op) {
      case 'replace':
      case 'create': {
        if (c.op === 'replace') {
          // The name is free as soon as the old one is being deleted.
          await api.deleteInstance(this.client, c.id);
          say(`${ref}: the old one's deletion requested`);
        }
        const made = await api.createInstance(this.client, c.spec);
        await this.record('instance', c.name, made.id, c.spec);
        say(`${ref} created (id ${made.id})`);
        if (this.wait) await followInstance(this.client, made.id, c.name, settles(c.spec, made.generation));
        return;
      }
      case 'update': {
        const steps = instanceSteps(c);
        for (const [n, step] of steps.entries()) {
          if (n > 0 && !this.wait) {
            say(`${ref}: ${steps.length - n} more change(s) wait for this one to settle; apply again then`);
            break;
          }
          const after = await api.updateInstance(this.client, c.id, step);
          if (n === 0) await this.record('instance', c.name, c.id, c.spec);
          say(`${ref}: ${Object.entries(step).map(([k, v]) => `${k} → ${Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ')}`);
          if (!this.wait) continue;
          // Until its own step, the power state stays what it was.
          const settled = settledStatus(step.powerState ?? powerBefore(c));
          if (step.flavor) {
            // A resize ends in VERIFY_RESIZE; apply confirms it, since the file says the new flavor is wanted.
            await followInstance(this.client, c.id, c.name, settlesAt('VERIFY_RESIZE', after.generation));
            const confirmed = await api.confirmResize(this.client, c.id);
            say(`${ref}: resize confirmed`);
            await followInstance(this.client, c.id, c.name, settlesAt(settled, confirmed.generation));
          } else await followInstance(this.client, c.id, c.name, settlesAt(settled, after.generation));
        }
        return;
      }
      case 'delete':
        await api.deleteInstance(this.client, c.id);
        await api.forgetOwned(this.client, this.plan.stack, 'instance', c.name);
        say(`${ref} deletion requested`);
        // Flavors and groups it uses can go only once it is gone.
        if (this.wait || this.plan.changes.some((x) => x.kind !== 'instance' && x.op === 'delete')) {
          await followInstance(this.client, c.id, c.name, (i) => (i ? 'waiting' : 'done'));
        }
        return;
      case 'record':
        return this.record('instance', c.name, c.id, c.spec);
      case 'forget':
        return api.forgetOwned(this.client, this.plan.stack, 'instance', c.name);
      case 'keep':
        return;
    }
  }
}

/** The desired power state before the change: the plan's `from` if it changes, else the file's. */
function powerBefore(c: Extract<InstanceChange, { op: 'update' }>): string {
  return c.fields.find((f) => f.field === 'powerState')?.from ?? c.spec.powerState ?? 'running';
}
