import { describe, expect, it } from 'vitest';
import { applyAssignmentChange, type AssignmentChange } from '../hostagent/assignment-changes.ts';
import type { Assignments } from '../hostagent/api.ts';
import { agentVisible, viewChanges } from '../resolvers/agent-view-changes.ts';
import type { AgentInstanceRow, AgentView } from '../store/agent-view.ts';

const instance: AgentInstanceRow = {
  id: 'i-1', name: 'web-1', generation: 1, observed_generation: 1, deleted: false, desired_power_state: 'running',
  vcpus: 1, memory_mb: 512, disk_gb: 1, image_id: 'img', image_disk_format: 'qcow2', image_checksum: null,
  image_properties: {}, user_data: null, metadata: {}, project_id: 'p-1', availability_zone: null, key_name: null, key_data: null,
  config_drive: false, operation_id: null, operation_kind: null, operation_params: null,
  operation_image_format: null, operation_image_checksum: null, completed_operation_id: null,
  operation_target_uri: null, operation_target_prepared: null, request_id: null, revision: 10,
};
const view: AgentView = {
  hostId: 'h-1', hostName: 'host-1', epoch: 0, enabled: true, orphanPolicy: 'remove', fenced: [], held: [], incoming: [], revision: 10,
  instances: [instance], networks: [],
};

describe("what an agent's watch pushes", () => {
  it('nothing new when only change revisions moved (the reconciler setting ACTIVE after a build)', () => {
    const later = { ...view, revision: 42, instances: [{ ...instance, revision: 41 }] };
    expect(agentVisible(later)).toBe(agentVisible(view));
  });

  it("nothing new for the echo of the agent's own report (observed generation, completed operation) nor a request id alone", () => {
    const echoed = { ...view, instances: [{ ...instance, observed_generation: 2, completed_operation_id: 'op-1', request_id: 'req-1' }] };
    expect(agentVisible(echoed)).toBe(agentVisible(view));
  });

  it('a new view when anything the agent reads changed', () => {
    const changes: Partial<AgentInstanceRow>[] = [
      { generation: 2 }, { desired_power_state: 'stopped' }, { deleted: true },
      { operation_id: 'op-1' }, { metadata: { a: '1' } },
    ];
    for (const c of changes) expect(agentVisible({ ...view, instances: [{ ...instance, ...c }] })).not.toBe(agentVisible(view));
    expect(agentVisible({ ...view, epoch: 1 })).not.toBe(agentVisible(view));
    expect(agentVisible({ ...view, fenced: ['i-2'] })).not.toBe(agentVisible(view));
    expect(agentVisible({ ...view, instances: [] })).not.toBe(agentVisible(view));
  });
});

describe("what an agent's changes watch pushes, and how the agent merges it", () => {
  const other = { ...instance, id: 'i-2', name: 'web-2' };
  const network = { id: 'n-1', name: 'net', segment: { kind: 'vxlan' as const, vni: 7 }, mtu: 1450, peers: [], subnets: [], service: null, ports: [], floatingIps: [] };

  it('the full view first, then only the instances that changed, those that left, and networks only when they changed', () => {
    const step = viewChanges();
    const first = step({ ...view, instances: [instance, other], networks: [network] as never });
    expect(first).toMatchObject({ full: true, removed: [], instances: [instance, other] });
    expect(first!.networks).toHaveLength(1);

    // Only revisions and the agent's own echo moved: nothing to push.
    expect(step({ ...view, revision: 50, instances: [{ ...instance, revision: 49, observed_generation: 3 }, other], networks: [network] as never })).toBeUndefined();

    const stopped = { ...other, desired_power_state: 'stopped' };
    const second = step({ ...view, instances: [instance, stopped], networks: [network] as never });
    expect(second).toMatchObject({ full: false, instances: [stopped], removed: [], networks: null });

    const third = step({ ...view, epoch: 2, instances: [stopped], networks: [] });
    expect(third).toMatchObject({ full: false, epoch: 2, instances: [], removed: ['i-1'], networks: [] });

    // A host-only change (fenced) is pushed with no instance in it.
    expect(step({ ...view, epoch: 2, fenced: ['i-9'], instances: [stopped], networks: [] })).toMatchObject({ full: false, fenced: ['i-9'], instances: [], removed: [] });
  });

  it('merging the pushes gives the agent the same view as reading it whole', () => {
    const asAgent = (i: typeof instance) => ({ id: i.id, name: i.name, powerState: i.desired_power_state }) as never;
    const push = (c: ReturnType<ReturnType<typeof viewChanges>>): AssignmentChange =>
      ({ ...c!, revision: String(c!.revision), instances: c!.instances.map(asAgent) }) as never;
    const step = viewChanges();
    const views = [
      { ...view, instances: [other], networks: [network] as never },
      { ...view, instances: [instance, other], networks: [network] as never },
      { ...view, instances: [instance, { ...other, desired_power_state: 'stopped' }], networks: [] },
      { ...view, held: ['i-1'], instances: [instance], networks: [] },
    ];
    let merged: Assignments | null = null;
    for (const v of views) {
      const c = step(v);
      if (c) merged = applyAssignmentChange(merged, push(c));
      expect(merged).toEqual({ ...v, revision: String(v.revision), instances: v.instances.map(asAgent) });
    }
  });

  it('compares objects in a row by content: a re-read copy is no change, new metadata is', () => {
    const step = viewChanges();
    step({ ...view, instances: [{ ...instance, metadata: { a: '1' } }] });
    expect(step({ ...view, instances: [{ ...instance, metadata: { a: '1' }, revision: 99 }] })).toBeUndefined();
    expect(step({ ...view, instances: [{ ...instance, metadata: { a: '2' } }] })).toMatchObject({ instances: [{ metadata: { a: '2' } }] });
    expect(step({ ...view, instances: [{ ...instance, metadata: { a: '2' }, operation_params: { hard: true } }] })).toMatchObject({
      instances: [{ operation_params: { hard: true } }],
    });
  });

  it('a change with no full view before it is refused, not merged into nothing', () => {
    const change = { ...view, revision: '1', full: false, removed: [], instances: [], networks: null } as never;
    expect(() => applyAssignmentChange(null, change)).toThrow(/before the full view/);
  });
});
