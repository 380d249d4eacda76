import { describe, expect, it } from 'vitest';
import { agentVisible } from '../resolvers/agent-view-changes.ts';
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
