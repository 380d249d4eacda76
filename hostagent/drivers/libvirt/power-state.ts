import type { PowerState } from '../driver.ts';
import type { RawState } from './parse.ts';

/** virDomainState and the shut-off reasons the driver looks at (libvirt's numbering). */
export const DomainState = {
  nostate: 0,
  running: 1,
  blocked: 2,
  paused: 3,
  shuttingDown: 4,
  shutoff: 5,
  crashed: 6,
  pmsuspended: 7,
} as const;
export const ShutoffReason = { crashed: 3 } as const;

/**
 * libvirt state to Orrery's power state, as Nova's libvirt driver does, with one refinement:
 * a shut-off domain holding a managed-save image is 'suspended', not 'shutdown'. Nova reports
 * SHUTDOWN there and leaves the distinction to vm_state; here the agent sees it directly, so it
 * can tell "resume restores memory" from "start boots afresh". The managed-save flag comes from
 * the image's existence (list --with-managed-save), not from the shut-off reason 'saved', which
 * does not say whether the image is still there.
 */
export function powerStateOf(raw: RawState, managedSave: boolean): PowerState {
  switch (raw.state) {
    case DomainState.running:
    case DomainState.blocked:
      return 'running';
    case DomainState.paused:
      return 'paused';
    case DomainState.shuttingDown:
      return 'shutdown';
    case DomainState.shutoff:
      if (managedSave) return 'suspended';
      return raw.reason === ShutoffReason.crashed ? 'crashed' : 'shutdown';
    case DomainState.crashed:
      return 'crashed';
    case DomainState.pmsuspended:
      return 'suspended';
    default:
      return 'nostate';
  }
}
