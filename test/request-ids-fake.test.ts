import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';
import { captureLog, type CapturedLog } from './support/log-capture.ts';

// The control plane (its API and its worker, told apart by the worker's component) and the host
// agent each log to a pino destination of their own, read back as a log shipper would: one request
// id must be found in the API's line, the worker's jobs, the agent's driver steps and the action.
let plane: CapturedLog;
let agent: CapturedLog;
let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;

beforeAll(async () => {
  plane = captureLog();
  agent = captureLog();
  tcp = await startTestControlPlane({ log: plane.log });
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId, 'image-a');
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'rid-1' }], { log: agent.log });
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

const settled = (id: string, vm: string) =>
  waitFor(`vm_state ${vm}`, () => instanceRow(tcp.db.sql, id), (r) => r?.vm_state === vm && r.task_state === null);

async function active(name: string): Promise<string> {
  const made = await createInstance(tcp.admin, { name, flavor: 'm1.small', image: 'image-a' });
  expect(made.__typename).toBe('CreateInstanceSuccess');
  await settled(made.instance.id, 'active');
  return made.instance.id;
}

const withId = (lines: Record<string, unknown>[], requestId: string) => lines.filter((l) => l.requestId === requestId);

/** The action a request opened, as the database and the API show it. */
async function actionOf(instanceId: string, requestId: string) {
  const rows = await tcp.db.sql<{ action: string; state: string }[]>`
    select action, state from instance_actions where instance_id = ${instanceId} and request_id = ${requestId}`;
  const d = await tcp.admin.request(`query($id: ID!) { instance(id: $id) { actions { action requestId } } }`, { id: instanceId });
  const shown = (d.instance.actions as { action: string; requestId: string }[]).filter((a) => a.requestId === requestId);
  return { rows, shown };
}

describe('one request id, from the API to the host and into the action log', () => {
  it('follows a stop: the API line, the reconcile job, the driver step and the action all carry it', async () => {
    const id = await active('rid-stop');
    const requestId = 'rid-test-stop-1';
    const d = await tcp.admin.request(
      `mutation($id: ID!) { updateInstance(id: $id, input: { powerState: stopped }) { __typename } }`, { id }, requestId,
    );
    expect(d.updateInstance.__typename).toBe('UpdateInstanceSuccess');
    await settled(id, 'stopped');
    await waitFor('the driver step in the agent log', async () => withId(agent.lines, requestId), (l) => l.length > 0);
    // The agent's report wakes the reconcile that settles the stop: found by the same id.
    await waitFor('the settling reconcile in the worker log', async () => withId(plane.lines, requestId),
      (l) => l.some((j) => j.msg === 'reconciled' && j.outcome === 'converged (stopped)'));

    expect(withId(plane.lines, requestId)).toEqual(expect.arrayContaining([
      expect.objectContaining({ msg: 'graphql mutation', fields: ['updateInstance'], user: 'admin', outcome: 'success' }),
      expect.objectContaining({ msg: 'job ran', task: 'reconcile_instance', component: 'reconciler', level: 30 }),
    ]));
    expect(withId(agent.lines, requestId)).toEqual([
      expect.objectContaining({ msg: 'driver step', step: 'stop', instance: id, host: 'rid-1', level: 30 }),
    ]);
    expect(await actionOf(id, requestId)).toEqual({
      rows: [{ action: 'stop', state: 'succeeded' }],
      shown: [{ action: 'stop', requestId }],
    });
  });

  it('logs a mutation over the WebSocket with the request id its action keeps', async () => {
    const id = await active('rid-socket');
    const d = await tcp.admin.requestOverSocket(`mutation($id: ID!) { updateInstance(id: $id, input: { powerState: paused }) { __typename } }`, { id });
    expect(d.updateInstance.__typename).toBe('UpdateInstanceSuccess');
    await settled(id, 'paused');
    const [pause] = await tcp.db.sql<{ request_id: string }[]>`select request_id from instance_actions where instance_id = ${id} and action = 'pause'`;
    expect(pause!.request_id).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(withId(plane.lines, pause!.request_id)).toEqual(expect.arrayContaining([
      expect.objectContaining({ msg: 'graphql mutation', fields: ['updateInstance'], transport: 'ws', outcome: 'success' }),
    ]));
    await waitFor('the pause in the agent log', async () => withId(agent.lines, pause!.request_id), (l) => l.some((s) => s.step === 'pause'));
  });

  it('follows a reboot, an operation the worker starts and the agent carries out', async () => {
    const id = await active('rid-reboot');
    const requestId = 'rid-test-reboot-1';
    const d = await tcp.admin.request(`mutation($id: ID!) { rebootInstance(id: $id, hard: true) { __typename } }`, { id }, requestId);
    expect(d.rebootInstance.__typename).toBe('RebootInstanceSuccess');
    await waitFor('the reboot to succeed', async () => (await actionOf(id, requestId)).rows, (r) => r[0]?.state === 'succeeded');

    expect(withId(plane.lines, requestId).map((l) => [l.msg, l.task ?? l.fields])).toEqual(expect.arrayContaining([
      ['graphql mutation', ['rebootInstance']],
      ['job ran', 'reconcile_instance'],
    ]));
    expect(withId(agent.lines, requestId)).toEqual([
      expect.objectContaining({ msg: 'driver step', step: 'reboot', instance: id }),
    ]);
    expect((await actionOf(id, requestId)).shown).toEqual([{ action: 'reboot', requestId }]);
  });

  it("follows a create to the host's build: the driver step carries the create's request id", async () => {
    const requestId = 'rid-test-create-1';
    const d = await tcp.admin.request(
      `mutation { createInstance(input: { name: "rid-create", flavor: "m1.small", image: "image-a" }) {
         ... on CreateInstanceSuccess { instance { id } } } }`, {}, requestId,
    );
    const id = d.createInstance.instance.id as string;
    await settled(id, 'active');
    expect(withId(plane.lines, requestId).map((l) => [l.msg, l.task ?? l.fields])).toEqual(expect.arrayContaining([
      ['graphql mutation', ['createInstance']],
      ['job ran', 'place_instances'],
    ]));
    expect(withId(agent.lines, requestId)).toEqual([expect.objectContaining({ msg: 'driver step', step: 'create', instance: id })]);
    expect(await actionOf(id, requestId)).toEqual({ rows: [{ action: 'create', state: 'succeeded' }], shown: [{ action: 'create', requestId }] });
  });
});
