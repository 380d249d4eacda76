import { isPortMac } from '../core/host-network.ts';
import type { AssignedInstance, ImageToFetch, InstanceReport, InterfaceFault } from './api.ts';
import { DriverError, type DomainInterface, type DomainSpec, type DomainStatus, type HypervisorDriver, type PowerState } from './drivers/driver.ts';
import { carryOut, type OperationDeps } from './operations.ts';

export interface ConvergeDeps extends Omit<OperationDeps, 'rebuild'> {
  /** Local path of an image, downloaded and verified; null when the driver needs no image file. */
  imagePath(image: ImageToFetch): Promise<string | null>;
  /** The instance's NICs, from its ports in the host's network view. */
  interfaces(instanceId: string): DomainInterface[];
  /** Those of them whose ports' plumbing is ready: the ones a guest may be given now. */
  readyInterfaces(instanceId: string): DomainInterface[];
  /** The files of the instance's config drive, when it has one (it asked, or the host forces it). */
  configDrive(inst: AssignedInstance): Map<string, Buffer> | null;
}

function specOf(inst: AssignedInstance, imagePath: string | null, interfaces: DomainInterface[], configDrive: Map<string, Buffer> | null): DomainSpec {
  return {
    instanceId: inst.id,
    name: inst.name,
    generation: inst.generation,
    imageId: inst.image.id,
    vcpus: inst.vcpus,
    memoryMb: inst.memoryMb,
    diskGb: inst.diskGb,
    imagePath,
    imageFormat: inst.image.diskFormat,
    imageProperties: Object.fromEntries(inst.image.properties.map((p) => [p.key, p.value])),
    userData: inst.userData,
    metadata: Object.fromEntries(inst.metadata.map((p) => [p.key, p.value])),
    interfaces,
    configDrive,
  };
}

/** Drives one existing domain to the wanted power state, each step idempotent. */
async function applyPower(d: ConvergeDeps, inst: AssignedInstance, from: PowerState, want: AssignedInstance['powerState']): Promise<void> {
  const { driver } = d;
  const id = inst.id;
  switch (want) {
    case 'running':
      if (from === 'paused') return driver.unpause(id);
      if (from === 'suspended') return driver.resume(id);
      if (from !== 'running') {
        // A fresh boot reads the config drive as the instance is now, as Nova rebuilds it then.
        const files = d.configDrive(inst);
        if (files) await driver.refreshConfigDrive(id, files);
        return driver.start(id);
      }
      return;
    case 'stopped':
      if (from === 'running' || from === 'paused' || from === 'suspended') return driver.stop(id, d.stopTimeoutMs);
      return;
    case 'paused':
      if (from === 'running') return driver.pause(id);
      if (from !== 'paused') throw new DriverError(`cannot pause a ${from} domain`, 'InvalidState');
      return;
    case 'suspended':
      if (from === 'running' || from === 'paused') return driver.suspend(id);
      if (from !== 'suspended') throw new DriverError(`cannot suspend a ${from} domain`, 'InvalidState');
      return;
  }
}

async function observe(driver: HypervisorDriver, id: string): Promise<PowerState> {
  return (await driver.list()).find((s) => s.instanceId === id)?.powerState ?? 'nostate';
}

/** What a report says of the domain as listed: no domain is no NICs. */
function shown(dom: DomainStatus | undefined): Pick<InstanceReport, 'powerState' | 'interfaces'> {
  return { powerState: dom?.powerState ?? 'nostate', interfaces: dom?.macs ?? [] };
}

/** The domain as the hypervisor shows it now; a failed look says nothing of its NICs. */
async function seen(driver: HypervisorDriver, id: string): Promise<Pick<InstanceReport, 'powerState' | 'interfaces'>> {
  try {
    return shown((await driver.list()).find((s) => s.instanceId === id));
  } catch {
    return { powerState: 'nostate' };
  }
}

/**
 * Gives a settled domain the view's NICs: hot-plugs the wanted ones it lacks once their ports'
 * plumbing is ready, and unplugs those carrying a port MAC the view no longer gives it (a NIC
 * with any other MAC is not Orrery's to remove). A failure is reported per NIC and tried again.
 */
async function syncInterfaces(d: ConvergeDeps, id: string, dom: DomainStatus): Promise<{ changed: boolean; faults: InterfaceFault[] }> {
  // A suspended guest's saved memory must match its definition: its NICs follow once it resumes.
  if (dom.powerState === 'suspended') return { changed: false, faults: [] };
  const wanted = new Set(d.interfaces(id).map((n) => n.mac));
  const plug = d.readyInterfaces(id).filter((n) => !dom.macs.includes(n.mac));
  const unplug = dom.macs.filter((mac) => isPortMac(mac) && !wanted.has(mac));
  const faults: InterfaceFault[] = [];
  const attempt = (mac: string, change: () => Promise<void>) =>
    change().catch((e: unknown) => {
      faults.push({ mac, message: (e as Error).message });
    });
  for (const nic of plug) await attempt(nic.mac, () => d.driver.attachInterface(id, nic));
  for (const mac of unplug) await attempt(mac, () => d.driver.detachInterface(id, mac));
  return { changed: plug.length + unplug.length > 0, faults };
}

function faultOf(e: unknown): NonNullable<InstanceReport['fault']> {
  const err = e as Error & { details?: string };
  return { code: e instanceof DriverError ? e.code : 'AgentError', message: err.message, details: err.details };
}

/** Builds the domain from the instance's image, then brings it to the desired power state. */
async function build(d: ConvergeDeps, inst: AssignedInstance): Promise<void> {
  await d.driver.create(specOf(inst, await d.imagePath(inst.image), d.interfaces(inst.id), d.configDrive(inst)));
  if (inst.powerState !== 'running') await applyPower(d, inst, await observe(d.driver, inst.id), inst.powerState);
}

/** Makes the domain match the spec: build it if missing, else change its power state. */
async function applySpec(d: ConvergeDeps, inst: AssignedInstance, dom: DomainStatus | undefined): Promise<void> {
  if (!dom) return build(d, inst);
  return applyPower(d, inst, dom.powerState, inst.powerState);
}

/**
 * One level-triggered step for one instance: act only when the spec's generation is newer than
 * what the control plane recorded as observed (so a guest that stopped on its own is reported,
 * never restarted), carry out the current operation once; with neither to do, give the domain the
 * view's NICs. Then report what the hypervisor shows.
 */
export async function converge(d: ConvergeDeps, inst: AssignedInstance, dom: DomainStatus | undefined): Promise<InstanceReport> {
  const { driver } = d;
  if (inst.deleted) {
    if (dom) await driver.destroy(inst.id);
    return { id: inst.id, observedGeneration: inst.generation, powerState: 'nostate', interfaces: [] };
  }
  if (inst.generation > inst.observedGeneration) {
    try {
      await applySpec(d, inst, dom);
      return { id: inst.id, observedGeneration: inst.generation, ...(await seen(driver, inst.id)) };
    } catch (e) {
      return { id: inst.id, observedGeneration: inst.generation, ...(await seen(driver, inst.id)), fault: faultOf(e) };
    }
  }
  const op = inst.operation;
  if (op && op.id !== inst.completedOperationId) {
    const report = { id: inst.id, observedGeneration: inst.observedGeneration, completedOperation: op.id };
    try {
      await carryOut({ ...d, rebuild: (i) => build(d, i) }, inst);
      return { ...report, ...(await seen(driver, inst.id)) };
    } catch (e) {
      return { ...report, ...(await seen(driver, inst.id)), fault: faultOf(e) };
    }
  }
  // Settled: the NICs follow the view (interfaces attached or detached since the build).
  const settled = { id: inst.id, observedGeneration: inst.observedGeneration };
  if (!dom) return { ...settled, ...shown(dom) };
  const sync = await syncInterfaces(d, inst.id, dom);
  const now = sync.changed ? await seen(driver, inst.id) : shown(dom);
  return { ...settled, ...now, ...(sync.faults.length > 0 ? { interfaceFaults: sync.faults } : {}) };
}
