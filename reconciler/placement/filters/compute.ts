import type { Filter, HostView } from '../types.ts';

function state(host: HostView): string | null {
  if (host.forcedDown) return 'forced down';
  if (!host.enabled) return 'disabled';
  if (!host.up) return 'down';
  return null;
}

/** The host's agent is alive and the host takes new instances. */
export const computeFilter: Filter = {
  name: 'Compute',
  check(_req, host) {
    const s = state(host);
    if (s === 'disabled' && host.disabledReason) return `disabled (${host.disabledReason})`;
    if (s === 'down') {
      return host.secondsSinceHeartbeat === null
        ? 'agent never reported'
        : `agent down (last heartbeat ${Math.round(host.secondsSinceHeartbeat)} s ago)`;
    }
    return s;
  },
  summarise(_req, rejected) {
    const counts = new Map<string, number>();
    for (const h of rejected) counts.set(state(h)!, (counts.get(state(h)!) ?? 0) + 1);
    if (counts.size === 1) return [...counts.keys()][0]!;
    return [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ');
  },
};
