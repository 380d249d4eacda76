import { tagSet } from '../../schema/documents/instance.ts';
import type { StackKind } from '../../schema/documents/stack.ts';
import type { Change, Op, Plan, Specs } from './changes.ts';
import { canonical, differ, type Diff, type FieldChange } from './diff.ts';
import { problem, type DocPath, type StackFile } from './document.ts';
import type { LiveAggregate, LiveFlavor, LiveInstance, LiveKeyPair, LiveSecurityGroup, LiveServerGroup, LiveZone, World } from './live.ts';
import { inUseProblems, networkDiff, networkProblems, ownNetworks, ownSubnets, subnetDiff } from './network-plan.ts';
import { ruleChanges, ruleProblems } from './rule-plan.ts';

const pairsMap = (pairs: { key: string; value: string }[]) => Object.fromEntries(pairs.map((p) => [p.key, p.value]));

/** Flavors are immutable (as in Nova): a different size needs a new name. */
function flavorDiff(s: Specs['flavor'], l: LiveFlavor): Diff {
  const { d, compare } = differ();
  compare('fixed', 'vcpus', l.vcpus, s.vcpus);
  compare('fixed', 'ramMb', l.ramMb, s.ramMb);
  compare('fixed', 'diskGb', l.diskGb, s.diskGb);
  compare('fixed', 'ephemeralGb', l.ephemeralGb, s.ephemeralGb ?? 0);
  compare('fixed', 'swapMb', l.swapMb, s.swapMb ?? 0);
  compare('fixed', 'extraSpecs', pairsMap(l.extraSpecs), s.extraSpecs ?? {});
  compare('fixed', 'isPublic', l.isPublic, s.isPublic ?? true);
  compare('fixed', 'description', l.description, s.description ?? '');
  return d;
}

function zoneDiff(s: Specs['availabilityZone'], l: LiveZone): Diff {
  const { d, compare } = differ();
  compare('update', 'description', l.description, s.description ?? '');
  return d;
}

/** Hosts are compared by name, as the API shows them; both lists replace the whole set when changed. */
function aggregateDiff(s: Specs['aggregate'], l: LiveAggregate): Diff {
  const { d, compare } = differ();
  compare('update', 'hosts', [...l.hosts].sort(), [...(s.hosts ?? [])].sort());
  compare('update', 'metadata', pairsMap(l.metadata), s.metadata ?? {});
  return d;
}

/** A group's policy is fixed at creation (as in Nova); replacing it would drop its members from it. */
function serverGroupDiff(s: Specs['serverGroup'], l: LiveServerGroup): Diff {
  const { d, compare } = differ();
  compare('fixed', 'policy', l.policy, s.policy);
  compare('fixed', 'maxServerPerHost', l.rules.maxServerPerHost, s.rules?.maxServerPerHost ?? null);
  return d;
}

/** The API has no update for a group: a new description replaces it (its rules are planned one by one). */
function securityGroupDiff(s: Specs['securityGroup'], l: LiveSecurityGroup): Diff {
  const { d, compare } = differ();
  compare('replace', 'description', l.description, s.description ?? '');
  return d;
}

/** A new public key replaces the pair; instances made with the old one keep their copy. */
function keyPairDiff(s: Specs['keyPair'], l: LiveKeyPair): Diff {
  const { d, compare } = differ();
  compare('replace', 'publicKey', l.publicKey, s.publicKey.trim());
  return d;
}

/**
 * Flavor (resize), image (rebuild), power state, metadata and tags change in place. Zone, server
 * group, key pair, user data, config drive, scheduler hints and NICs are fixed at creation: a change replaces the
 * instance. The API shows the zone; the others are compared with the spec recorded at the last apply.
 */
function instanceDiff(s: Specs['instance'], l: LiveInstance, applied: Record<string, unknown>, w: World): Diff {
  const { d, compare } = differ();
  compare('update', 'flavor', l.flavor.name, s.flavor, s.flavor === l.flavor.name || s.flavor === l.flavor.id);
  const image = w.images.find((i) => i.id === l.imageId);
  compare('update', 'image', image?.name ?? l.imageId, s.image, s.image === l.imageId || s.image === image?.name);
  compare('update', 'powerState', l.desiredPowerState, s.powerState ?? 'running');
  compare('update', 'metadata', pairsMap(l.metadata), s.metadata ?? {});
  compare('update', 'tags', [...l.tags].sort(), tagSet(s.tags ?? []).sort());
  const zoneName = s.zone === undefined ? null : (w.zones.find((z) => z.id === s.zone)?.name ?? s.zone);
  compare('replace', 'zone', l.requestedZone, s.zone ?? null, zoneName === l.requestedZone);
  for (const f of ['serverGroup', 'keyName', 'userData', 'schedulerHints', 'networks'] as const) compare('replace', f, applied[f] ?? null, s[f] ?? null);
  compare('replace', 'configDrive', applied.configDrive ?? false, s.configDrive ?? false);
  return d;
}

/** References that neither the file nor the API knows: the create would fail. */
function referenceProblems(stack: StackFile, w: World): string[] {
  const out: string[] = [];
  const doc = stack.doc;
  const known = (inFile: { name: string }[] | undefined, live: { id: string; name: string }[], ref: string) =>
    (inFile ?? []).some((x) => x.name === ref) || live.some((x) => x.name === ref || x.id === ref);
  (doc.aggregates ?? []).forEach((a, i) =>
    (a.hosts ?? []).forEach((h, j) => {
      if (!w.hosts.some((x) => x.name === h || x.id === h)) out.push(problem(stack, ['aggregates', i, 'hosts', j], `host ${JSON.stringify(h)} not found`));
    }));
  (doc.instances ?? []).forEach((s, i) => {
    const at = (field: string, what: string, ref: string) =>
      out.push(problem(stack, ['instances', i, field], `${what} ${JSON.stringify(ref)} not found (neither in the file nor visible to you)`));
    if (!known(doc.flavors, w.flavors, s.flavor)) at('flavor', 'flavor', s.flavor);
    if (!known([], w.images, s.image)) at('image', 'image', s.image);
    if (s.zone !== undefined && !known(doc.availabilityZones, w.zones, s.zone)) at('zone', 'availability zone', s.zone);
    if (s.serverGroup !== undefined && !known(doc.serverGroups, w.serverGroups, s.serverGroup)) at('serverGroup', 'server group', s.serverGroup);
    if (s.keyName !== undefined && !known(doc.keyPairs, w.keyPairs, s.keyName)) at('keyName', 'key pair', s.keyName);
  });
  return out;
}

interface KindPlan<K extends StackKind, L extends { id: string; name: string }> {
  kind: K;
  list: 'flavors' | 'availabilityZones' | 'aggregates' | 'serverGroups' | 'keyPairs' | 'networks' | 'subnets' | 'securityGroups' | 'instances';
  specs: readonly Specs[K][];
  live: L[];
  diff(spec: Specs[K], live: L, applied: Record<string, unknown>): Diff;
}

function planKind<K extends StackKind, L extends { id: string; name: string }>(k: KindPlan<K, L>, stack: StackFile, w: World, plan: Plan, prune: boolean): void {
  const owned = new Map(w.owned.filter((o) => o.kind === k.kind).map((o) => [o.name, o]));
  const byId = new Map(k.live.map((l) => [l.id, l]));
  const push = (c: Op<K>) => plan.changes.push(c as Change);
  k.specs.forEach((spec, i) => {
    const path: DocPath = [k.list, i];
    const name = spec.name;
    const rec = owned.get(name);
    const current = rec && byId.get(rec.resourceId);
    if (!rec || !current) {
      // Never adopted: a same-named resource the stack does not own stays someone else's.
      if (k.live.some((l) => l.name === name)) {
        plan.problems.push(problem(stack, [...path, 'name'],
          `${LABEL[k.kind]} ${JSON.stringify(name)} exists and is not owned by stack ${plan.stack}: rename it in the file, or delete it first`));
      } else push({ op: 'create', kind: k.kind, name, spec });
      return;
    }
    const d = k.diff(spec, current, rec.applied);
    if (d.fixed.length > 0) {
      plan.problems.push(problem(stack, path, `${LABEL[k.kind]} ${name} cannot change (${fieldList(d.fixed)}); give the new one another name`));
    } else if (d.replace.length > 0) push({ op: 'replace', kind: k.kind, name, id: current.id, spec, fields: [...d.replace, ...d.update] });
    else if (d.update.length > 0) push({ op: 'update', kind: k.kind, name, id: current.id, spec, fields: d.update });
    else if (canonical(rec.applied) !== canonical(spec)) push({ op: 'record', kind: k.kind, name, id: current.id, spec });
  });
  for (const rec of owned.values()) {
    if (k.specs.some((s) => s.name === rec.name)) continue;
    const current = byId.get(rec.resourceId);
    push(!current ? { op: 'forget', kind: k.kind, name: rec.name } : prune ? { op: 'delete', kind: k.kind, name: rec.name, id: current.id } : { op: 'keep', kind: k.kind, name: rec.name });
  }
}

/** How each kind is shown: `instance/web-1`, `zone/az-1`, `security-group-rule/web` (a rule of group web). */
export const LABEL: Record<Change['kind'], string> = {
  flavor: 'flavor', availabilityZone: 'zone', aggregate: 'aggregate', serverGroup: 'server-group', keyPair: 'key-pair',
  network: 'network', subnet: 'subnet', securityGroup: 'security-group', securityGroupRule: 'security-group-rule', instance: 'instance',
};

const fieldList = (fields: FieldChange[]) => fields.map((f) => `${f.field}: ${f.from} → ${f.to}`).join('; ');

/** What applying the file would do to the stack, from what the API shows now. Plans touch nothing. */
export function planStack(stack: StackFile, stackName: string, w: World, prune: boolean): Plan {
  const problems = [...referenceProblems(stack, w), ...networkProblems(stack, w, prune), ...ruleProblems(stack, w, prune)];
  const plan: Plan = { stack: stackName, changes: [], problems };
  const doc = stack.doc;
  planKind({ kind: 'flavor', list: 'flavors', specs: doc.flavors ?? [], live: w.flavors, diff: flavorDiff }, stack, w, plan, prune);
  planKind({ kind: 'availabilityZone', list: 'availabilityZones', specs: doc.availabilityZones ?? [], live: w.zones, diff: zoneDiff }, stack, w, plan, prune);
  planKind({ kind: 'aggregate', list: 'aggregates', specs: doc.aggregates ?? [], live: w.aggregates, diff: aggregateDiff }, stack, w, plan, prune);
  planKind({ kind: 'keyPair', list: 'keyPairs', specs: doc.keyPairs ?? [], live: w.keyPairs, diff: keyPairDiff }, stack, w, plan, prune);
  planKind({ kind: 'serverGroup', list: 'serverGroups', specs: doc.serverGroups ?? [], live: w.serverGroups, diff: serverGroupDiff }, stack, w, plan, prune);
  planKind({ kind: 'network', list: 'networks', specs: doc.networks ?? [], live: ownNetworks(w), diff: networkDiff }, stack, w, plan, prune);
  const renewed = new Set(plan.changes.filter((c) => c.kind === 'network' && c.op === 'replace').map((c) => c.name));
  planKind({ kind: 'subnet', list: 'subnets', specs: doc.subnets ?? [], live: ownSubnets(w), diff: (s, l) => subnetDiff(s, l, w, renewed) }, stack, w, plan, prune);
  planKind({ kind: 'securityGroup', list: 'securityGroups', specs: doc.securityGroups ?? [], live: w.securityGroups, diff: securityGroupDiff }, stack, w, plan, prune);
  plan.changes.push(...ruleChanges(stack, w, plan));
  // An instance being deleted no longer counts: its name is free again.
  const instances = w.instances.filter((i) => !i.deleting);
  planKind({ kind: 'instance', list: 'instances', specs: doc.instances ?? [], live: instances, diff: (s, l, a) => instanceDiff(s, l, a, w) }, stack, w, plan, prune);
  plan.problems.push(...inUseProblems(stack, plan, w));
  return plan;
}

const SIGN = { create: '+', update: '~', replace: '-/+', delete: '-' } as const;

/** Terraform-style lines, then a one-line summary. */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  const count = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of plan.changes) {
    const ref = `${LABEL[c.kind]}/${c.name}`;
    if (c.op === 'keep') lines.push(`  ${ref}: owned by the stack but no longer in the file; kept (apply --prune deletes it)`);
    if (c.op !== 'create' && c.op !== 'update' && c.op !== 'replace' && c.op !== 'delete') continue;
    count[c.op]++;
    const fields = c.kind === 'securityGroupRule' ? ` (${c.text})` : c.op === 'update' || c.op === 'replace' ? ` (${fieldList(c.fields)})` : '';
    lines.push(`${SIGN[c.op]} ${ref}${fields}`);
  }
  const total = count.create + count.update + count.replace + count.delete;
  lines.push(total === 0
    ? `No changes: stack ${plan.stack} matches the file.`
    : `Plan: ${count.create} to create, ${count.update} to change, ${count.replace} to replace, ${count.delete} to delete.`);
  return lines;
}

/** Whether the plan changes any resource (record keeping alone does not count). */
export const changesResources = (plan: Plan) => plan.changes.some((c) => ['create', 'update', 'replace', 'delete'].includes(c.op));
