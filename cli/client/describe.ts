import type { Command } from 'commander';
import type { OrreryClient } from '../../client/graphql.ts';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { CliError } from './errors.ts';
import { kindOf } from './get.ts';
import { keyValues, orDash, printFields, printTable } from './format.ts';
import { instanceId } from './instance-ref.ts';

const out = (line = '') => process.stdout.write(line + '\n');
/** Timestamps to the second: the action log is read by people. */
const time = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');

async function describeInstance(client: OrreryClient, ref: string): Promise<void> {
  const id = await instanceId(client, ref);
  const { instance: i } = await client.request(
    `query($id: ID!) { instance(id: $id) {
      id name projectId userId status vmState taskState powerState desiredPowerState deleting
      generation observedGeneration revision requestedZone hostName hostId imageId createdAt updatedAt launchedAt
      metadata { key value } tags
      flavor { name vcpus ramMb diskGb }
      fault { code message details time }
      allocations { host vcpus memoryMb diskGb }
      actions { action state requestId userId startedAt finishedAt message
        events { event result host startedAt finishedAt details } } } }`,
    { id },
  );
  if (!i) throw new CliError(`instance "${ref}" not found`);
  const { image } = await client.request(`query($ref: String!) { image(ref: $ref) { name } }`, { ref: i.imageId });
  const f = i.flavor;
  printFields([
    ['Name', i.name],
    ['ID', i.id],
    ['Project', i.projectId],
    ['User', i.userId],
    ['Created', i.createdAt],
    ['Updated', i.updatedAt],
  ]);
  out('Spec:');
  printFields([
    ['Flavor', `${f.name} (${f.vcpus} vCPU, ${f.ramMb} MiB RAM, ${f.diskGb} GiB disk)`],
    ['Image', image ? `${image.name} (${i.imageId})` : i.imageId],
    ['Zone', orDash(i.requestedZone)],
    ['Power state', i.desiredPowerState],
    ['Metadata', orDash(keyValues(i.metadata))],
    ['Tags', orDash(i.tags.join(','))],
    ['Generation', String(i.generation)],
    ['Deleting', i.deleting ? 'yes' : 'no'],
  ], 2);
  out('Status:');
  printFields([
    ['Status', i.status],
    ['VM state', i.vmState],
    ['Task state', orDash(i.taskState)],
    ['Power state', i.powerState],
    ['Host', orDash(i.hostName)],
    ['Host ID', orDash(i.hostId)],
    ['Observed generation', String(i.observedGeneration)],
    ['Launched', orDash(i.launchedAt)],
  ], 2);
  if (i.fault) {
    out('Fault:');
    printFields([['Code', i.fault.code], ['Message', i.fault.message], ['Details', orDash(i.fault.details)], ['Time', i.fault.time]], 2);
  } else out('Fault:  <none>');
  out('Allocations:');
  if (i.allocations.length === 0) out('  <none>');
  for (const a of i.allocations) out(`  ${a.host}: ${a.vcpus} vCPU, ${a.memoryMb} MiB RAM, ${a.diskGb} GiB disk`);
  out('Actions:');
  if (i.actions.length === 0) out('  <none>');
  else {
    // One table: each action (Nova's instance action) followed by its events, indented under it.
    const rows = i.actions.flatMap((a: Record<string, any>) => [
      [`  ${a.action}`, a.state, '', time(a.startedAt), time(a.finishedAt), `request ${a.requestId}${a.message ? `: ${a.message}` : ''}`],
      ...a.events.map((e: Record<string, any>) => [`    ${e.event}`, e.result, orDash(e.host), time(e.startedAt), time(e.finishedAt), e.details ?? '']),
    ]);
    printTable(['  ACTION', 'RESULT', 'HOST', 'STARTED', 'FINISHED', 'DETAILS'], rows);
  }
}

async function describeHost(client: OrreryClient, ref: string): Promise<void> {
  const { host: h, aggregates } = await client.request(
    `query($ref: String!) { host(ref: $ref) {
      id name state enabled disabledReason forcedDown zone epoch hypervisorType hypervisorVersion architecture
      enrolledAt lastHeartbeatAt downSince instanceCount
      inventory { vcpus memoryMb diskGb } reserved { vcpus memoryMb diskGb }
      capacity { vcpus memoryMb diskGb } used { vcpus memoryMb diskGb }
      allocationRatios { cpu ram disk } }
      aggregates { name hosts } }`,
    { ref },
  );
  if (!h) throw new CliError(`host "${ref}" not found`);
  const ratio = (r: number | null) => (r === null ? 'default' : String(r));
  printFields([
    ['Name', h.name],
    ['ID', h.id],
    ['State', `${h.state}${h.forcedDown ? ' (forced down)' : ''}${h.downSince ? ` since ${h.downSince}` : ''}`],
    ['Status', h.enabled ? 'enabled' : `disabled${h.disabledReason ? ` (${h.disabledReason})` : ''}`],
    ['Zone', orDash(h.zone)],
    ['Aggregates', orDash((aggregates as { name: string; hosts: string[] }[]).filter((a) => a.hosts.includes(h.name)).map((a) => a.name).join(','))],
    ['Hypervisor', `${h.hypervisorType} ${h.hypervisorVersion} (${h.architecture})`],
    ['Enrolled', h.enrolledAt],
    ['Last heartbeat', orDash(h.lastHeartbeatAt)],
    ['Epoch', String(h.epoch)],
    ['Allocation ratios', `cpu ${ratio(h.allocationRatios.cpu)}, ram ${ratio(h.allocationRatios.ram)}, disk ${ratio(h.allocationRatios.disk)}`],
    ['Instances', String(h.instanceCount)],
  ]);
  out('Resources:');
  const res = (r: { vcpus: number; memoryMb: number; diskGb: number }) => [String(r.vcpus), `${r.memoryMb}Mi`, `${r.diskGb}Gi`];
  printTable(
    ['  ', 'VCPUS', 'RAM', 'DISK'],
    (['inventory', 'reserved', 'capacity', 'used'] as const).map((k) => [`  ${k}`, ...res(h[k])]),
  );
}

const KINDS: Record<string, (client: OrreryClient, ref: string) => Promise<void>> = {
  instances: describeInstance,
  hosts: describeHost,
};

export function registerDescribe(program: Command): void {
  withConnection(
    program
      .command('describe')
      .description('show one instance (spec, status, fault, allocations, action log) or one host in detail')
      .argument('<type>', 'instance|host')
      .argument('<ref>', 'instance ID or name; host name or ID'),
  ).action(
    clientAction(async ({ client }, type: string, ref: string) => {
      await KINDS[kindOf(type, Object.keys(KINDS))]!(client, ref);
    }),
  );
}
