import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Principal } from '../core/principal.ts';
import { evaluateRule, parseRule, type RuleNode } from './expression.ts';

const DEFAULT_FILE = fileURLToPath(new URL('./default.yaml', import.meta.url));
const ROLE_RANK = { reader: 1, member: 2, admin: 3 } as const;

export class Policy {
  private constructor(private readonly rules: Map<string, RuleNode>) {}

  /** The default rules, with the operator's override file (if any) replacing rules one by one. */
  static load(overrideFile?: string): Policy {
    const rules = new Map<string, RuleNode>();
    for (const file of overrideFile ? [DEFAULT_FILE, overrideFile] : [DEFAULT_FILE]) {
      const doc = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
      for (const [name, text] of Object.entries(doc ?? {})) {
        if (typeof text !== 'string') throw new Error(`${file}: rule ${name} must be a string`);
        rules.set(name, parseRule(text));
      }
    }
    return new Policy(rules);
  }

  has(rule: string): boolean {
    return this.rules.has(rule);
  }

  /** The rules this caller satisfies, so a client can offer only what it may do. */
  allowedRules(principal: Principal): string[] {
    return [...this.rules.keys()].filter((rule) => this.allows(principal, rule)).sort();
  }

  /** Unknown rules deny: a new operation without a rule is closed, not open. */
  allows(principal: Principal | null, rule: string): boolean {
    const node = this.rules.get(rule);
    if (!node || !principal) return false;
    return evaluateRule(node, (term) => termHolds(principal, term));
  }
}

function termHolds(p: Principal, term: string): boolean {
  if (term === '@') return true;
  if (term === '!') return false;
  if (term.startsWith('principal:')) return p.kind === term.slice('principal:'.length);
  if (term.startsWith('role:') && p.kind === 'user') {
    const need = ROLE_RANK[term.slice(5) as keyof typeof ROLE_RANK];
    return p.roles.some((r) => ROLE_RANK[r] >= need);
  }
  return false;
}
