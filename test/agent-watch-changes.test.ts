import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentApi } from '../hostagent/api.ts';
import type { AssignmentChange } from '../hostagent/assignment-changes.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { enrollmentToken } from './support/fake-agents.ts';
import { seedImage } from './support/fixtures.ts';

let tcp: TestControlPlane;
let api: AgentApi;
let hostId: string;
let ids: string[];
let watch: AsyncIterableIterator<{ agentAssignmentChanges: AssignmentChange }>;

async function next(): Promise<AssignmentChange> {
  const r = await watch.next();
  if (r.done) throw new Error('the watch ended');
  return r.value.agentAssignmentChanges;
}

beforeAll(async () => {
  // No worker: nothing but the test writes the instances.
  tcp = await startTestControlPlane({ worker: false });
  api = new AgentApi(tcp.url, await enrollmentToken(tcp.admin));
  ({ hostId } = await api.enroll('watch-changes', await new FakeDriver().hostInfo()));
  const imageId = await seedImage(tcp.db.sql, tcp.adminProjectId);
  const [flavor] = await tcp.db.sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('w.tiny', 1, 64, 1) returning id`;
  const [admin] = await tcp.db.sql<{ id: string }[]>`select id from users where name = 'admin'`;
  const rows = await tcp.db.sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id, host_id)
    select ${tcp.adminProjectId}, ${admin!.id}, 'w-' || g, ${flavor!.id}, ${imageId}, ${hostId} from generate_series(1, 3) g
    returning id`;
  ids = rows.map((r) => r.id).sort();
  watch = api.watch();
});
afterAll(async () => {
  await watch?.return?.();
  await api?.close();
  await tcp?.stop();
});

describe("an agent's changes watch, over the API", () => {
  it('starts with the full view', async () => {
    const first = await next();
    expect(first).toMatchObject({ full: true, hostId, removed: [] });
    expect(first.instances.map((i) => i.id)).toEqual(ids);
    expect(first.networks).toEqual([]);
  });

  it('then pushes only the instance that changed, not a write the agent does not read before it', async () => {
    await tcp.db.sql`update instances set vm_state = 'active' where id = ${ids[0]!}`;
    await tcp.db.sql`update instances set desired_power_state = 'stopped', generation = generation + 1 where id = ${ids[1]!}`;
    const change = await next();
    expect(change).toMatchObject({ full: false, removed: [], networks: null });
    expect(change.instances.map((i) => [i.id, i.powerState, i.generation])).toEqual([[ids[1], 'stopped', 2]]);
  });

  it('says which instances left the host, and the host part comes with every push', async () => {
    await tcp.db.sql`update instances set host_id = null where id = ${ids[2]!}`;
    const change = await next();
    expect(change).toMatchObject({ full: false, instances: [], removed: [ids[2]], hostId, enabled: true });
    await tcp.db.sql`update hosts set enabled = false, disabled_reason = 'test' where id = ${hostId}`;
    expect(await next()).toMatchObject({ full: false, instances: [], removed: [], enabled: false });
  });
});
