import { describe, expect, it } from 'vitest';
import type { StackDocument } from '../schema/documents/stack.ts';
import type { StackFile } from '../cli/stack/document.ts';
import type { LiveInstance, World } from '../cli/stack/live.ts';
import { changesResources, planStack, renderPlan } from '../cli/stack/plan.ts';

const FLAVOR = { id: '00000000-0000-4000-8000-00000000000f', name: 'm1.small', vcpus: 1, ramMb: 512, diskGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: [], isPublic: true, description: '' };
const IMAGE = { id: '00000000-0000-4000-8000-0000000000aa', name: 'cirros', status: 'active' };

function live(over: Partial<LiveInstance> = {}): LiveInstance {
  return {
    id: '00000000-0000-4000-8000-000000000001', name: 'web-1', deleting: false, status: 'ACTIVE', taskState: null, desiredPowerState: 'running',
    generation: 1, flavor: { id: FLAVOR.id, name: FLAVOR.name }, imageId: IMAGE.id, requestedZone: null, metadata: [], tags: ['b', 'a'], ...over,
  };
}

function world(instances: LiveInstance[], applied: Record<string, unknown> | null): World {
  return {
    projectId: '00000000-0000-4000-8000-0000000000bb',
    owned: applied ? [{ kind: 'instance', name: 'web-1', resourceId: '00000000-0000-4000-8000-000000000001', applied }] : [],
    flavors: [FLAVOR], zones: [], aggregates: [], hosts: [], serverGroups: [], keyPairs: [], images: [IMAGE], networks: [], ports: [], securityGroups: [], instances,
  };
}

const file = (instances: NonNullable<StackDocument['instances']>): StackFile =>
  ({ file: 's.yaml', doc: { apiVersion: 'orrery/v1', kind: 'Stack', metadata: { name: 's' }, instances }, at: () => 's.yaml:1' });

const web1 = { name: 'web-1', flavor: 'm1.small', image: 'cirros', tags: ['a', 'b'] };

describe('planStack', () => {
  it('sees no change when only the spelling differs: tags in another order, flavor and image by ID', () => {
    const plan = planStack(file([{ ...web1, flavor: FLAVOR.id, image: IMAGE.id, tags: ['a', 'b', 'a'] }]), 's', world([live()], web1), false);
    expect(changesResources(plan)).toBe(false);
    // The recorded spec is brought up to date, silently.
    expect(plan.changes.map((c) => c.op)).toEqual(['record']);
    expect(renderPlan(plan)).toEqual(['No changes: stack s matches the file.']);
  });

  it('compares what the API cannot show (user data, key, group) with the spec recorded at the last apply', () => {
    const plan = planStack(file([{ ...web1, userData: 'two' }]), 's', world([live()], { ...web1, userData: 'one' }), false);
    expect(renderPlan(plan)).toEqual(['-/+ instance/web-1 (userData: one → two)', 'Plan: 0 to create, 0 to change, 1 to replace, 0 to delete.']);
  });

  it('creates again an owned instance that is gone or being deleted, and forgets a gone one the file dropped', () => {
    const deleting = planStack(file([web1]), 's', world([live({ deleting: true })], web1), false);
    expect(deleting.changes.map((c) => `${c.op} ${c.name}`)).toEqual(['create web-1']);
    expect(deleting.problems).toEqual([]);
    const gone = planStack(file([]), 's', world([], web1), true);
    expect(gone.changes.map((c) => `${c.op} ${c.name}`)).toEqual(['forget web-1']);
    expect(changesResources(gone)).toBe(false);
  });

  it('refuses to take over a same-named instance it does not own', () => {
    const plan = planStack(file([web1]), 's', world([live()], null), false);
    expect(plan.changes).toEqual([]);
    expect(plan.problems).toEqual(['s.yaml:1: instances[0].name: instance "web-1" exists and is not owned by stack s: rename it in the file, or delete it first']);
  });
});
