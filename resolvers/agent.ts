import { ConflictError, ForbiddenError, ValidationError } from '../core/errors.ts';
import { parseIp } from '../core/ip.ts';
import { builder } from '../schema/builder.ts';
import { mutationErrors } from '../schema/errors.ts';
import { AgentAssignmentChanges, AgentAssignments } from '../schema/types/agent.ts';
import type { AgentView, AgentViewChange } from '../store/agent-view.ts';
import { agentVisible, viewChanges } from './agent-view-changes.ts';
import { agentBatches } from '../server/agent-batches.ts';
import { agentViewReads } from '../server/agent-view-reads.ts';
import { isUuid } from '../store/instances.ts';
import { enrollHostRow, type InventoryColumns } from '../store/host-enrollment.ts';
import { latestOnChange, stepsOnChange } from './latest-on-change.ts';
import { requireHost } from './scope.ts';

const POWER_STATES = ['running', 'paused', 'shutdown', 'crashed', 'suspended', 'nostate'] as const;
const ObservedPowerState = builder.enumType('ObservedPowerState', { values: POWER_STATES });

const HostInventoryInput = builder.inputType('HostInventoryInput', {
  fields: (t) => ({
    hypervisorType: t.string({ required: true }),
    hypervisorVersion: t.string({ required: true }),
    architecture: t.string({ required: true }),
    cpuModel: t.string({ required: true }),
    cpuFeatures: t.stringList({ required: true }),
    vcpus: t.int({ required: true }),
    memoryMb: t.int({ required: true }),
    diskGb: t.int({ required: true }),
    migrationUri: t.string({ description: "Where other hosts' hypervisors reach this one for a live migration; unset: it receives none" }),
    tunnelAddress: t.string({ description: "Where other hosts' VXLAN tunnels reach this one; unset: it carries no overlay network" }),
  }),
});

const FaultInput = builder.inputType('FaultInput', {
  fields: (t) => ({ code: t.string({ required: true }), message: t.string({ required: true }), details: t.string() }),
});

const InterfaceFaultInput = builder.inputType('InterfaceFaultInput', {
  description: 'A NIC the agent could not hot-plug or unplug, and why.',
  fields: (t) => ({ mac: t.string({ required: true }), message: t.string({ required: true }) }),
});

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** More NICs than a domain can carry. */
const MAX_INTERFACES = 64;

const InstanceReportInput = builder.inputType('InstanceReportInput', {
  description: 'What the agent observes of one instance after applying `observedGeneration` (or failing to).',
  fields: (t) => ({
    id: t.id({ required: true }),
    observedGeneration: t.int({ required: true }),
    powerState: t.field({ type: ObservedPowerState, required: true }),
    fault: t.field({ type: FaultInput, description: 'Set when applying this generation (or the completed operation) failed' }),
    completedOperation: t.id({ description: 'The operation this report says was carried out' }),
    interfaces: t.stringList({ description: "MACs of the domain's NICs now (empty: no domain); unset: not observed" }),
    interfaceFaults: t.field({ type: [InterfaceFaultInput], description: 'NICs the agent failed to hot-plug or unplug' }),
  }),
});

type InstanceReportArg = typeof InstanceReportInput.$inferInput;

/** MACs PostgreSQL's macaddr reads, at most a domain's worth. */
function checkInterfaces(r: InstanceReportArg, i: number): void {
  const faults = r.interfaceFaults ?? [];
  if ((r.interfaces?.length ?? 0) > MAX_INTERFACES || faults.length > MAX_INTERFACES) {
    throw ValidationError.field(`reports[${i}].interfaces`, `at most ${MAX_INTERFACES} interfaces per instance`);
  }
  r.interfaces?.forEach((mac, j) => {
    if (!MAC.test(mac)) throw ValidationError.field(`reports[${i}].interfaces[${j}]`, 'must be a MAC such as fa:16:3e:00:00:01');
  });
  faults.forEach((f, j) => {
    if (!MAC.test(f.mac)) throw ValidationError.field(`reports[${i}].interfaceFaults[${j}].mac`, 'must be a MAC such as fa:16:3e:00:00:01');
  });
}

const Enrollment = builder.objectRef<{ hostId: string; token: string; epoch: number }>('Enrollment').implement({
  fields: (t) => ({ hostId: t.exposeID('hostId'), token: t.exposeString('token'), epoch: t.exposeInt('epoch') }),
});

const Heartbeat = builder.objectRef<{ epoch: number; enabled: boolean }>('Heartbeat').implement({
  fields: (t) => ({ epoch: t.exposeInt('epoch'), enabled: t.exposeBoolean('enabled') }),
});

const ReportResult = builder.objectRef<{ accepted: string[]; rejected: string[] }>('InstanceReportResult').implement({
  description: 'Reports for instances not bound to the reporting host are rejected and change nothing.',
  fields: (t) => ({ accepted: t.exposeIDList('accepted'), rejected: t.exposeIDList('rejected') }),
});

type Inventory = typeof HostInventoryInput.$inferInput;

function checkInventory(inv: Inventory): void {
  for (const k of ['vcpus', 'memoryMb', 'diskGb'] as const) {
    if (inv[k] < 0) throw ValidationError.field(`inventory.${k}`, 'must be >= 0');
  }
  const uri = inv.migrationUri;
  if (uri != null && (uri.length > 1000 || !/^[a-z][a-z0-9+.-]*:\/\/\S*$/.test(uri))) {
    throw ValidationError.field('inventory.migrationUri', 'must be a URI such as qemu+tcp://10.0.0.5/system (at most 1000 characters)');
  }
  if (inv.tunnelAddress != null && !parseIp(inv.tunnelAddress)) {
    throw ValidationError.field('inventory.tunnelAddress', 'must be an IP address such as 10.0.0.5');
  }
}

const inventoryColumns = (inv: Inventory): InventoryColumns => ({
  hypervisor_type: inv.hypervisorType,
  hypervisor_version: inv.hypervisorVersion,
  architecture: inv.architecture,
  capabilities: { cpu_model: inv.cpuModel, cpu_features: inv.cpuFeatures },
  vcpus: inv.vcpus,
  memory_mb: inv.memoryMb,
  disk_gb: inv.diskGb,
  migration_uri: inv.migrationUri ?? null,
  tunnel_address: inv.tunnelAddress ?? null,
});

builder.mutationFields((t) => ({
  enrollHost: t.field({
    type: Enrollment,
    description:
      "Called by an agent with an enrollment token: registers the host (or re-enrolls one whose agent is down, revoking its old credential) and returns a credential for this host only.",
    args: {
      name: t.arg.string({ required: true }),
      inventory: t.arg({ type: HostInventoryInput, required: true }),
    },
    authScopes: { policy: 'agent:enroll' },
    errors: mutationErrors('EnrollHost', 'enrollment'),
    resolve: async (_r, { name, inventory }, ctx) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(name)) {
        throw ValidationError.field('name', 'must be a host name (letters, digits, ".", "_", "-"; at most 255)');
      }
      checkInventory(inventory);
      const enrolled = await enrollHostRow(ctx.sql, name, inventoryColumns(inventory), ctx.config.serviceDownSeconds);
      if (!enrolled) {
        throw new ConflictError(
          `host ${name} is enrolled and its agent is up; a host enrolls again only after its agent stopped for ${ctx.config.serviceDownSeconds} s (or with its saved credential)`,
          'up',
        );
      }
      return enrolled;
    },
  }),
  reportHost: t.field({
    type: Heartbeat,
    description: "The agent's inventory and capabilities, at start and on change; counts as a heartbeat.",
    args: { inventory: t.arg({ type: HostInventoryInput, required: true }) },
    authScopes: { policy: 'agent:report' },
    errors: mutationErrors('ReportHost', 'heartbeat'),
    resolve: async (_r, { inventory }, ctx) => {
      const host = requireHost(ctx);
      checkInventory(inventory);
      const c = inventoryColumns(inventory);
      const [row] = await ctx.sql<{ epoch: number; enabled: boolean }[]>`
        update hosts set ${ctx.sql({ ...c, capabilities: ctx.sql.json(c.capabilities) } as never)},
               last_heartbeat_at = now(), down_since = null, updated_at = now()
         where id = ${host.hostId}
        returning epoch, enabled`;
      return row!;
    },
  }),
  heartbeat: t.field({
    type: Heartbeat,
    // Agents of this release keep their lease with their socket's traffic (server/agent-sockets.ts);
    // this stays for agents of the previous release and for checking a saved credential over HTTP.
    description: "Renews the host's liveness lease; answers with its epoch (a changed epoch means the host was fenced). An agent connected over graphql-ws need not send it: the API renews the lease of every host whose socket shows traffic.",
    authScopes: { policy: 'agent:report' },
    resolve: async (_r, _a, ctx) => {
      const host = requireHost(ctx);
      const lease = await agentBatches(ctx.sql).heartbeats.add(host.hostId);
      if (!lease) throw new ForbiddenError('the host of this credential no longer exists');
      return lease;
    },
  }),
  reportInstances: t.field({
    type: ReportResult,
    description: 'Observed state of instances on this host, in one batch; each accepted report wakes the reconciler.',
    args: { reports: t.arg({ type: [InstanceReportInput], required: true }) },
    authScopes: { policy: 'agent:report' },
    errors: mutationErrors('ReportInstances', 'result'),
    resolve: async (_r, { reports }, ctx) => {
      const host = requireHost(ctx);
      if (reports.length > 1000) throw ValidationError.field('reports', 'at most 1000 reports per call');
      reports.forEach((r, i) => {
        if (r.completedOperation && !isUuid(String(r.completedOperation))) {
          throw ValidationError.field(`reports[${i}].completedOperation`, 'must be an operation id');
        }
        checkInterfaces(r, i);
      });
      // Each report joins this process's next batch; together they are one statement per flush.
      const batch = agentBatches(ctx.sql).reports;
      const verdicts = await Promise.all(
        reports.map((r) =>
          batch.add({
            hostId: host.hostId,
            id: String(r.id),
            observedGeneration: r.observedGeneration,
            powerState: r.powerState,
            fault: r.fault ?? null,
            completedOperation: r.completedOperation ? String(r.completedOperation) : null,
            interfaces: r.interfaces ?? null,
            interfaceFaults: (r.interfaceFaults ?? []).map((f) => ({ mac: f.mac, message: f.message.slice(0, 2000) })),
          }),
        ),
      );
      const ids = reports.map((r) => String(r.id));
      return { accepted: ids.filter((_, i) => verdicts[i]), rejected: ids.filter((_, i) => !verdicts[i]) };
    },
  }),
}));

builder.queryField('agentAssignments', (t) =>
  t.field({
    type: AgentAssignments,
    description: 'Everything the calling host must run.',
    authScopes: { policy: 'agent:watch' },
    resolve: (_r, _a, ctx) => agentViewReads(ctx.sql).read(requireHost(ctx).hostId),
  }),
);

builder.subscriptionField('agentAssignments', (t) =>
  t.field({
    type: AgentAssignments,
    description:
      "The calling host's full desired state now, then again after every change to what it reads (a write that moves only change revisions is not pushed). " +
      'Agents of this release watch agentAssignmentChanges; this stays for agents of the previous one during an upgrade.',
    authScopes: { policy: 'agent:watch' },
    subscribe: (_r, _a, ctx): AsyncIterableIterator<AgentView> => {
      const { hostId } = requireHost(ctx);
      // A write that moves only revisions changes nothing the agent reads: not pushed.
      const views = agentViewReads(ctx.sql);
      return latestOnChange(ctx.changes.subscribeHost(hostId), () => views.read(hostId), agentVisible);
    },
    resolve: (v: AgentView) => v,
  }),
);

builder.subscriptionField('agentAssignmentChanges', (t) =>
  t.field({
    type: AgentAssignmentChanges,
    description:
      "The calling host's full desired state now, then after every change to what it reads only what changed: " +
      'a host with many instances is not sent all of them again because one changed.',
    authScopes: { policy: 'agent:watch' },
    subscribe: (_r, _a, ctx): AsyncIterableIterator<AgentViewChange> => {
      const { hostId } = requireHost(ctx);
      const views = agentViewReads(ctx.sql);
      return stepsOnChange(ctx.changes.subscribeHost(hostId), () => views.read(hostId), viewChanges());
    },
    resolve: (v: AgentViewChange) => v,
  }),
);
