import type { AssignedInstance, InstanceReport } from './api.ts';
import { DriverError, type DomainSpec, type DomainStatus, type HypervisorDriver, type PowerState } from './drivers/driver.ts';

export interface ConvergeDeps {
  driver: HypervisorDriver;
  /** Local path of the instance's image, downloaded and verified; null when the driver needs no image. */
  imagePath(inst: AssignedInstance): Promise<string | null>;
  stopTimeoutMs: number;
}

function specOf(inst: AssignedInstance, imagePath: string | null): DomainSpec {
  return {
    instanceId: inst.id,
    name: inst.name,
    generation: inst.generation,
    vcpus: inst.vcpus,
    memoryMb: inst.memoryMb,
    diskGb: inst.diskGb,
    imagePath,
    imageFormat: inst.image.diskFormat,
    imageProperties: Object.fromEntries(inst.image.properties.map((p) => [p.key, p.value])),
    userData: inst.userData,
    metadata: Object.fromEntries(inst.metadata.map((p) => [p.key, p.value])),
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

/**
 * One level-triggered step for one instance: act only when the spec's generation is newer than
 * what the control plane recorded as observed (so a guest that stopped on its own is reported,
 * never restarted), then report what the hypervisor now shows.
 */
export async function converge(d: ConvergeDeps, inst: AssignedInstance, dom: DomainStatus | undefined): Promise<InstanceReport> {
  const { driver } = d;
  if (inst.deleted) {
    if (dom) await driver.destroy(inst.id);
    return { id: inst.id, observedGeneration: inst.generation, powerState: 'nostate' };
  }
  if (inst.generation <= inst.observedGeneration) {
    return { id: inst.id, observedGeneration: inst.observedGeneration, powerState: dom?.powerState ?? 'nostate' };
  }
  try {
    if (!dom) {
      await driver.create(specOf(inst, await d.imagePath(inst)));
      if (inst.powerState !== 'running') await applyPower(d, inst.id, await observe(driver, inst.id), inst.powerState);
    } else {
      await applyPower(d, inst.id, dom.powerState, inst.powerState);
    }
    return { id: inst.id, observedGeneration: inst.generation, powerState: await observe(driver, inst.id) };
  } catch (e) {
    const err = e as Error & { code?: string; details?: string };
    return {
      id: inst.id,
      observedGeneration: inst.generation,
      powerState: await observe(driver, inst.id).catch(() => 'nostate' as const),
      fault: { code: e instanceof DriverError ? e.code : 'AgentError', message: err.message, details: err.details },
    };
  }
}
