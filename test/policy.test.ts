import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../core/principal.ts';
import { parseRule, PolicySyntaxError } from '../policies/expression.ts';
import { Policy } from '../policies/policy.ts';

const user = (roles: ('reader' | 'member' | 'admin')[]): Principal => ({
  kind: 'user', tokenId: 't', userId: 'u', userName: 'n', projectId: 'p', roles,
});
const host: Principal = { kind: 'host', tokenId: 't', hostId: 'h' };

describe('default policy', () => {
  const policy = Policy.load();
  it.each([
    ['instance:list', user(['reader']), true],
    ['instance:create', user(['reader']), false],
    ['instance:create', user(['member']), true],
    ['instance:create', user(['admin']), true],
    ['flavor:create', user(['member']), false],
    ['flavor:create', user(['admin']), true],
    ['agent:report', host, true],
    ['agent:report', user(['admin']), false],
    ['instance:list', host, false],
    ['no:such:rule', user(['admin']), false],
  ] as const)('%s for %o is %s', (rule, who, allowed) => {
    expect(policy.allows(who, rule)).toBe(allowed);
  });

  it('denies everything to nobody', () => {
    expect(policy.allows(null, 'whoami')).toBe(false);
  });
});

describe('operator override file', () => {
  it('replaces rules one by one and keeps the rest', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-policy-'));
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, 'flavor:create: role:member\ninstance:delete: role:admin or (role:member and role:reader and !)\n');
    const policy = Policy.load(file);
    expect(policy.allows(user(['member']), 'flavor:create')).toBe(true);
    expect(policy.allows(user(['member']), 'instance:delete')).toBe(false);
    expect(policy.allows(user(['admin']), 'instance:delete')).toBe(true);
    expect(policy.allows(user(['reader']), 'instance:list')).toBe(true);
  });
});

describe('rule syntax', () => {
  it.each(['role:owner', 'role:admin or', '(role:admin', 'role:admin role:member', ''])('rejects %j', (text) => {
    expect(() => parseRule(text)).toThrow(PolicySyntaxError);
  });
});
