import { ValidationError } from '../../core/errors.ts';
import { checkRule, type RuleFields } from '../../core/security-group-rule.ts';
import { canonical } from './diff.ts';
import { issuePath, problem, type StackFile } from './document.ts';
import type { LiveRule, World } from './live.ts';
import { doomed } from './network-plan.ts';
import type { Plan, RuleChange } from './changes.ts';

/** A rule as the API stores it, its remote group by name: two rules with one key are the same rule. */
interface RuleKey {
  direction: string;
  ethertype: string;
  protocol: string | null;
  portMin: number | null;
  portMax: number | null;
  remoteCidr: string | null;
  remoteGroup: string | null;
}

/** `ingress IPv4 tcp port 22 from 0.0.0.0/0`, `egress IPv6 any to anywhere`. */
function ruleText(k: RuleKey): string {
  const protocol = k.protocol ?? 'any';
  const icmp = protocol === 'icmp' || protocol === 'icmpv6';
  const ports =
    k.portMin === null && k.portMax === null ? '' :
    icmp ? ` type ${k.portMin ?? 'any'}${k.portMax === null ? '' : ` code ${k.portMax}`}` :
    k.portMin === k.portMax ? ` port ${k.portMin}` : ` ports ${k.portMin ?? '*'}-${k.portMax ?? '*'}`;
  const remote = k.remoteCidr ?? (k.remoteGroup === null ? 'anywhere' : `group ${k.remoteGroup}`);
  return `${k.direction} ${k.ethertype} ${protocol}${ports} ${k.direction === 'ingress' ? 'from' : 'to'} ${remote}`;
}

/** A group reference by the name it will have: the file's, or the live group's (given by name or ID). */
function groupName(ref: string, stack: StackFile, w: World): string {
  if ((stack.doc.securityGroups ?? []).some((g) => g.name === ref)) return ref;
  return w.securityGroups.find((g) => g.name === ref || g.id === ref)?.name ?? ref;
}

/** The file's rule keyed as the API would store it; null if the API would refuse it (ruleProblems says why). */
function fileKey(r: RuleFields, stack: StackFile, w: World): RuleKey | null {
  let checked;
  try {
    checked = checkRule(r);
  } catch (e) {
    if (e instanceof ValidationError) return null;
    throw e;
  }
  return {
    direction: r.direction, ethertype: checked.ethertype, protocol: r.protocol ?? null, portMin: r.portMin ?? null, portMax: r.portMax ?? null,
    remoteCidr: checked.remoteCidr, remoteGroup: r.remoteGroup === undefined ? null : groupName(r.remoteGroup, stack, w),
  };
}

function liveKey(r: LiveRule, w: World): RuleKey {
  const remote = r.remoteGroupId === null ? null : (w.securityGroups.find((g) => g.id === r.remoteGroupId)?.name ?? r.remoteGroupId);
  return { direction: r.direction, ethertype: r.ethertype, protocol: r.protocol, portMin: r.portMin, portMax: r.portMax, remoteCidr: r.remoteCidr, remoteGroup: remote };
}

/** Each rule checked as the API will check it, its remote group known, and none given twice in one group. */
export function ruleProblems(stack: StackFile, w: World, prune: boolean): string[] {
  const out: string[] = [];
  const gone = doomed(w, prune, 'securityGroup', stack.doc.securityGroups ?? []);
  (stack.doc.securityGroups ?? []).forEach((g, i) => {
    const keys: string[] = [];
    (g.rules ?? []).forEach((r, j) => {
      const at = ['securityGroups', i, 'rules', j];
      try {
        checkRule(r);
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        for (const issue of e.issues) out.push(problem(stack, issuePath(at, issue.field), issue.message));
      }
      if (r.remoteGroup !== undefined) {
        const ref = r.remoteGroup;
        const known = (stack.doc.securityGroups ?? []).some((x) => x.name === ref) || w.securityGroups.some((x) => x.name === ref || x.id === ref);
        if (gone.has(ref)) out.push(problem(stack, [...at, 'remoteGroup'], `security group "${ref}" is deleted by this apply (--prune): keep it in the file`));
        else if (!known) out.push(problem(stack, [...at, 'remoteGroup'], `security group "${ref}" not found (neither in the file nor in your project)`));
      }
      const key = fileKey(r, stack, w);
      const k = key && canonical(key);
      const first = k ? keys.indexOf(k) : -1;
      if (first >= 0) out.push(problem(stack, at, `repeats rules[${first}] (${ruleText(key!)})`));
      keys.push(k ?? '');
    });
  });
  return out;
}

/**
 * Rules are immutable: a group's rule set changes by adding and removing single rules, matched as a
 * set (the file's list is the whole set, so a new group's starting rules go unless it lists them).
 * A group made or replaced by this plan has none yet; rules naming a group being replaced go with
 * it and are added again.
 */
export function ruleChanges(stack: StackFile, w: World, plan: Plan): RuleChange[] {
  const out: RuleChange[] = [];
  const replaced = new Set(plan.changes.filter((c) => c.kind === 'securityGroup' && c.op === 'replace').map((c) => c.name));
  for (const g of stack.doc.securityGroups ?? []) {
    const rec = w.owned.find((o) => o.kind === 'securityGroup' && o.name === g.name);
    const current = rec && w.securityGroups.find((x) => x.id === rec.resourceId);
    // Not the stack's: a same-named group is a conflict, already a problem of the plan.
    if (!current && w.securityGroups.some((x) => x.name === g.name)) continue;
    const live = current && !replaced.has(g.name)
      ? current.rules.map((r) => ({ r, key: liveKey(r, w) })).filter(({ key }) => key.remoteGroup === null || !replaced.has(key.remoteGroup))
      : [];
    const unmatched = [...live];
    for (const r of g.rules ?? []) {
      const key = fileKey(r, stack, w);
      if (!key) continue;
      const at = unmatched.findIndex((l) => canonical(l.key) === canonical(key));
      if (at >= 0) unmatched.splice(at, 1);
      else out.push({ op: 'create', kind: 'securityGroupRule', name: g.name, rule: r, text: ruleText(key) });
    }
    for (const { r, key } of unmatched) out.push({ op: 'delete', kind: 'securityGroupRule', name: g.name, id: r.id, text: ruleText(key) });
  }
  return out;
}
