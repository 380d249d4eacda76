import type { Filter } from '../types.ts';

/** The host's agent is alive and the host takes new instances. */
export const computeFilter: Filter = {
  name: 'Compute',
  check(_req, host) {
    if (host.forcedDown) return 'forced down';
    if (!host.enabled) return host.disabledReason ? `disabled (${host.disabledReason})` : 'disabled';
    if (!host.up) {
      return host.secondsSinceHeartbeat === null
        ? 'agent never reported'
        : `agent down (last heartbeat ${Math.round(host.secondsSinceHeartbeat)} s ago)`;
    }
    return null;
  },
};
