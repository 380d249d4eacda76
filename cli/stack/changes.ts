// What a plan is made of: each kind's spec and the changes planned for it (no logic, so every planner can import it).
import type { RuleFields } from '../../core/security-group-rule.ts';
import type { StackDocument, StackKind } from '../../schema/documents/stack.ts';
import type { FieldChange } from './diff.ts';

type Item<L extends keyof StackDocument> = NonNullable<StackDocument[L]> extends readonly (infer T)[] ? T : never;

/** Each kind's spec as a file gives it. */
export interface Specs {
  flavor: Item<'flavors'>;
  availabilityZone: Item<'availabilityZones'>;
  aggregate: Item<'aggregates'>;
  serverGroup: Item<'serverGroups'>;
  keyPair: Item<'keyPairs'>;
  network: Item<'networks'>;
  subnet: Item<'subnets'>;
  securityGroup: Item<'securityGroups'>;
  instance: Item<'instances'>;
}

export type Op<K extends StackKind> =
  | { op: 'create'; kind: K; name: string; spec: Specs[K] }
  | { op: 'update'; kind: K; name: string; id: string; spec: Specs[K]; fields: FieldChange[] }
  | { op: 'replace'; kind: K; name: string; id: string; spec: Specs[K]; fields: FieldChange[] }
  /** Unchanged, but the spec recorded at the last apply is not the file's (e.g. a flavor by ID, now by name). */
  | { op: 'record'; kind: K; name: string; id: string; spec: Specs[K] }
  | { op: 'delete'; kind: K; name: string; id: string }
  /** Owned but no longer in the file: kept without --prune. */
  | { op: 'keep'; kind: K; name: string }
  /** Owned, not in the file, and gone already: only the record goes. */
  | { op: 'forget'; kind: K; name: string };

/** One rule added to or removed from a group (`name`): rules are immutable, so sets change rule by rule. */
export type RuleChange =
  | { op: 'create'; kind: 'securityGroupRule'; name: string; rule: RuleFields; text: string }
  | { op: 'delete'; kind: 'securityGroupRule'; name: string; id: string; text: string };

export type Change = { [K in StackKind]: Op<K> }[StackKind] | RuleChange;

export interface Plan {
  stack: string;
  changes: Change[];
  /** Why the plan cannot be carried out (`file:line: field: message`); nothing is done while there is one. */
  problems: string[];
}
