import { describe, expect, it } from 'vitest';
import { rootLog } from '../core/log.ts';
import type { AgentApi, Assignments } from '../hostagent/api.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';
import { IncomingMigrations } from '../hostagent/incoming.ts';

const view = (over: Partial<Assignments>): Assignments => ({
  hostId: 'h', hostName: 'h', epoch: 0, enabled: true, orphanPolicy: 'remove', fenced: [], held: [], incoming: [], revision: '1',
  instances: [], networks: [], ...over,
});
const noApi = {} as AgentApi;
const ready = () => true;

describe("a destination's prepared live-migration disks", () => {
  it('are dropped by an agent that did not prepare them (a restart in between), once the migration is gone', async () => {
    const driver = new FakeDriver();
    await driver.prepareIncoming('i-left');
    await driver.prepareIncoming('i-incoming');
    await driver.prepareIncoming('i-held');
    await driver.prepareIncoming('i-bound');
    // A fresh handler, as after a restart: it remembers nothing of the preparations.
    const restarted = new IncomingMigrations(driver, rootLog());
    await restarted.handle(noApi, view({
      incoming: [{ migrationId: 'm-1', instanceId: 'i-incoming', diskGb: 1 }],
      held: ['i-held'],
      instances: [{ id: 'i-bound' } as Assignments['instances'][number]],
    }), ready, new Set());
    expect((await driver.instanceFiles()).sort()).toEqual(['i-bound', 'i-held', 'i-incoming']);
  });

  it("leave a domain's files alone, bound here or not (an orphan is the orphan policy's to decide)", async () => {
    const driver = new FakeDriver();
    await driver.create({
      instanceId: 'i-stray', name: 'stray', generation: 1, imageId: 'img', vcpus: 1, memoryMb: 128, diskGb: 1, imagePath: null,
      imageFormat: 'qcow2', imageProperties: {}, userData: null, metadata: {}, interfaces: [], configDrive: null,
    });
    await new IncomingMigrations(driver, rootLog()).handle(noApi, view({}), ready, new Set(['i-stray']));
    expect(await driver.instanceFiles()).toEqual(['i-stray']);
    expect(driver.domains.get('i-stray')?.powerState).toBe('running');
  });
});
