import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAgentProcess, type AgentProcess } from './agent-process.ts';
import type { TestControlPlane } from './control-plane.ts';
import { enrollmentToken } from './fake-agents.ts';
import { waitFor } from './fixtures.ts';
import { virsh } from './libvirt.ts';

export interface LibvirtAgent {
  agent: AgentProcess;
  stateDir: string;
  hostId: string;
}

/** `orrery hostagent --driver libvirt` on this machine as host `name`, once it is enrolled and heartbeating. */
export async function startLibvirtAgent(tcp: TestControlPlane, name: string, stateDirPrefix: string): Promise<LibvirtAgent> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), stateDirPrefix));
  const agent = startAgentProcess(['--driver', 'libvirt', '--name', name, '--api', tcp.url,
    '--enrollment-token', await enrollmentToken(tcp.admin), '--state-dir', stateDir, '--heartbeat', '1', '--reserved-memory-mb', '0']);
  const [host] = await waitFor('host enrolled and up', () => tcp.db.sql<{ id: string }[]>`
    select id from hosts where name = ${name} and last_heartbeat_at > now() - interval '5 seconds' and memory_mb > 0`,
  (rows) => rows.length === 1, 60_000);
  return { agent, stateDir, hostId: host!.id };
}

/** Stops the agent and removes what it leaves on the machine: the given domains and its state folder. */
export async function stopLibvirtAgent(a: LibvirtAgent | undefined, domainIds: string[]): Promise<void> {
  await a?.agent.stop();
  for (const id of domainIds.filter(Boolean)) {
    await virsh('destroy', id).catch(() => {});
    await virsh('undefine', '--managed-save', id).catch(() => {});
  }
  if (a) await rm(a.stateDir, { recursive: true, force: true });
}
