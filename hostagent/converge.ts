import type { AssignedInstance, ImageToFetch, InstanceReport } from './api.ts';
import { DriverError, type DomainInterface, type DomainSpec, type DomainStatus, type HypervisorDriver, type PowerState } from './drivers/driver.ts';
import { carryOut, type OperationDeps } from './operations.ts';

export interface ConvergeDeps extends Omit<OperationDeps, 'rebuild'> {
  /** Local path of an image, downloaded and verified; null when the driver needs no image file. */
  imagePath(image: ImageToFetch): Promise<string | null>;
  /** The instance's NICs, from its ports in the host's network view. */
  interfaces(instanceId: string): DomainInterface[];
}

function specOf(inst: AssignedInstance, imagePath: string | null, interfaces: DomainInterface[]): DomainSpec {
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
  };
}

/** Drives one existing domain to the wanted power state, each step idempotent. */
async function applyPower(d: ConvergeDeps, id: string, from: PowerState, want: AssignedInstance['powerState']): Promise<void> {
  const { driver } = d;
  switch (want) {
    case 'running':
      if (from === 'paused') return driver.unpause(id);
      if (from === 'suspended') return driver.resume(id);
      if (from !== 'running') return driver.start(id);
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

function faultOf(e: unknown): NonNullable<InstanceReport['fault']> {
  const err = e as Error & { details?: string };
  return { code: e instanceof DriverError ? e.code : 'AgentError', message: err.message, details: err.details };
}

/** Builds the domain from the instance's image, then brings it to the desired power state. */
async function build(d: ConvergeDeps, inst: AssignedInstance): Promise<void> {
  await d.driver.create(specOf(inst, await d.imagePath(inst.image), d.interfaces(inst.id)));
  if (inst.powerState !== 'running') await applyPower(d, inst.id, await observe(d.driver, inst.id), inst.powerState);
}

/** Makes the domain match the spec: build it if missing, else change its power state. */
async function applySpec(d: ConvergeDeps, inst: AssignedInstance, dom: DomainStatus | undefined): Promise<void> {
  if (!dom) return build(d, inst);
  return applyPower(d, inst.id, dom.powerState, inst.powerState);
}

/**
 * One level-triggered step for one instance: act only when the spec's generation is newer than
 * what the control plane recorded as observed (so a guest that stopped on its own is reported,
 * never restarted), carry out the current operation once, then report what the hypervisor shows.
 */
export async function converge(d: ConvergeDeps, inst: AssignedInstance, dom: DomainStatus | undefined): Promise<InstanceReport> {
  const { driver } = d;
  if (inst.deleted) {
    if (dom) await driver.destroy(inst.id);
    return { id: inst.id, observedGeneration: inst.generation, powerState: 'nostate' };
  }
  const observed = async () => observe(driver, inst.id).catch(() => 'nostate' as const);
  if (inst.generation > inst.observedGeneration) {
    try {
      await applySpec(d, inst, dom);
      return { id: inst.id, observedGeneration: inst.generation, powerState: await observed() };
    } catch (e) {
      return { id: inst.id, observedGeneration: inst.generation, powerState: await observed(), fault: faultOf(e) };
    }
  }
  const op = inst.operation;
  if (op && op.id !== inst.completedOperationId) {
    const report = { id: inst.id, observedGeneration: inst.observedGeneration, completedOperation: op.id };
    try {
      await carryOut({ ...d, rebuild: (i) => build(d, i) }, inst);
      return { ...report, powerState: await observed() };
    } catch (e) {
      return { ...report, powerState: await observed(), fault: faultOf(e) };
    }
  }
  return { id: inst.id, observedGeneration: inst.observedGeneration, powerState: dom?.powerState ?? 'nostate' };
}
