import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { TestControlPlane } from './control-plane.ts';

const run = promisify(execFile);

/** Why the OpenStack client tests cannot run here, or null (CI installs the packages: scripts/install-host-deps.sh). */
export async function openstackUnavailable(binary = 'openstack'): Promise<string | null> {
  try {
    await run('sh', ['-c', `command -v ${binary}`]);
    return null;
  } catch {
    return `${binary} is not installed (Debian: python3-openstackclient, python3-novaclient)`;
  }
}

/** Sets the user's password through GraphQL, as `orrery set password` does. */
export async function setPassword(tcp: TestControlPlane, user: string, password: string): Promise<void> {
  const d = await tcp.admin.request(
    `mutation($u: String!, $p: String!) { setUserPassword(user: $u, password: $p) { __typename ... on Error { message } } }`,
    { u: user, p: password },
  );
  expect(d.setUserPassword.__typename).toBe('SetUserPasswordSuccess');
}

/** A clouds.yaml naming the facade, as the README shows it; `OS_CLOUD=<name>` selects it. */
export async function cloudsYaml(url: string, clouds: Record<string, { user: string; password: string; project: string }>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orrery-clouds-'));
  const file = path.join(dir, 'clouds.yaml');
  const body = Object.entries(clouds).map(([name, c]) => [
    `  ${name}:`,
    '    auth:',
    `      auth_url: ${url}/identity/v3`,
    `      username: ${c.user}`,
    `      password: ${c.password}`,
    `      project_name: ${c.project}`,
    '      user_domain_name: Default',
    '      project_domain_name: Default',
    '    region_name: RegionOne',
    '    identity_api_version: 3',
    '    compute_api_version: "2.79"',
  ].join('\n'));
  await writeFile(file, `clouds:\n${body.join('\n')}\n`);
  return file;
}

/** Runs the real `openstack` CLI against the cloud; stdout parsed as JSON when asked with -f json. */
export async function openstack(clouds: string, cloud: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run('openstack', args, {
      env: { ...process.env, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: cloud, PYTHONWARNINGS: 'ignore' },
      timeout: timeoutMs,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`openstack ${args.join(' ')} failed: ${err.stderr || err.message}\n${err.stdout ?? ''}`);
  }
}

export async function openstackJson<T = Record<string, unknown>>(clouds: string, cloud: string, args: string[]): Promise<T> {
  return JSON.parse(await openstack(clouds, cloud, [...args, '-f', 'json'])) as T;
}
