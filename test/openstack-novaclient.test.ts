import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { startFakeHosts } from './support/fake-agents.ts';
import { createFlavor, createInstance, instanceRow, seedImage, waitFor } from './support/fixtures.ts';
import { openstackUnavailable, setPassword } from './support/openstack.ts';

// python-novaclient's own API (Debian's python3-novaclient), run by the system Python.
const unavailable = await openstackUnavailable('nova');
if (unavailable) console.warn(`\n*** SKIPPING the novaclient tests: ${unavailable} ***\n`);

let tcp: TestControlPlane;
let hosts: Awaited<ReturnType<typeof startFakeHosts>>;
let serverId: string;

beforeAll(async () => {
  if (unavailable) return;
  tcp = await startTestControlPlane();
  await createFlavor(tcp.admin, 'm1.small', 1, 512, 1);
  await seedImage(tcp.db.sql, tcp.adminProjectId);
  hosts = await startFakeHosts(tcp.url, tcp.admin, [{ name: 'nc-a' }]);
  const a = await tcp.userClient('proj-a', 'alice', ['member']);
  await tcp.userClient('proj-b', 'bob', ['member']);
  await setPassword(tcp, 'alice', 'alice-password');
  await setPassword(tcp, 'bob', 'bob-password');
  const made = await createInstance(a.client, { name: 'nc1', flavor: 'm1.small', image: 'test-image' });
  serverId = made.instance.id;
  await waitFor('active', () => instanceRow(tcp.db.sql, serverId), (r) => r?.vm_state === 'active');
});
afterAll(async () => {
  await hosts?.stop();
  await tcp?.stop();
});

describe.skipIf(unavailable !== null)('python-novaclient', () => {
  it('negotiates the microversion and gets Nova\'s errors', { timeout: 120_000 }, async () => {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [path.join(import.meta.dirname, 'support/python/novaclient_checks.py')], {
      env: {
        ...process.env, PYTHONWARNINGS: 'ignore', AUTH_URL: `${tcp.url}/identity/v3`, SERVER_ID: serverId,
        A_USER: 'alice', A_PASSWORD: 'alice-password', A_PROJECT: 'proj-a',
        B_USER: 'bob', B_PASSWORD: 'bob-password', B_PROJECT: 'proj-b',
      },
      timeout: 90_000,
    });
    const out = JSON.parse(stdout);
    expect(out.negotiated).toBe('2.79');
    // 2.1 names the flavor by id; 2.47 and later embed it.
    expect(out.old_flavor).toMatchObject({ id: expect.any(String) });
    expect(out.new_flavor_keys).toEqual(['disk', 'ephemeral', 'extra_specs', 'original_name', 'ram', 'swap', 'vcpus']);
    expect(out.too_new).toMatchObject({ status: 406, message: expect.stringMatching(/maximum is 2\.79/) });

    expect(out.other_project).toMatchObject({ status: 404, class: 'NotFound', message: `Instance ${serverId} could not be found.` });
    expect(out.other_project_stop).toMatchObject({ status: 404 });
    expect(out.pause_again).toMatchObject({ status: 409, class: 'Conflict', message: expect.stringMatching(/vm_state paused/) });
    expect(out.member_migrate).toMatchObject({ status: 403, class: 'Forbidden', message: expect.stringMatching(/os_compute_api:os-migrate-server:migrate/) });
    expect(out.bad_input).toMatchObject({ status: 400, class: 'BadRequest', message: 'server.colour: is not a known field' });
    expect(out.bad_metadata).toMatchObject({ status: 400, message: expect.stringMatching(/^metadata\.k: /) });
    expect(out.unknown_flavor).toMatchObject({ status: 400, message: 'flavor "no-such-flavor" not found (server.flavorRef)' });

    // The failed calls changed nothing: the server is paused, on its host, in its project.
    expect(await instanceRow(tcp.db.sql, serverId)).toMatchObject({ vm_state: 'paused', desired_power_state: 'paused' });
  });
});
