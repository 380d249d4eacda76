import { matchesExtraSpec, type Offered } from '../extra-specs-match.ts';
import type { Filter, HostView } from '../types.ts';

const SCOPE = 'capabilities';

/** What a host offers to `capabilities:<key>` extra specs; a ':' in the key walks nested objects. */
function offered(host: HostView, key: string): Offered {
  const state: Record<string, unknown> = {
    hypervisor_type: host.hypervisorType,
    hypervisor_version: host.hypervisorVersion,
    architecture: host.architecture,
    ...host.capabilities,
  };
  let v: unknown = state;
  for (const part of key.split(':')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v as Offered;
}

/**
 * Flavor extra specs against what the host reports. Keys scoped to anything other than
 * `capabilities:` belong to other filters and are skipped; a capability the host does not report fails.
 */
export const computeCapabilitiesFilter: Filter = {
  name: 'ComputeCapabilities',
  check(req, host) {
    for (const [key, requirement] of Object.entries(req.extraSpecs)) {
      const [scope, ...rest] = key.split(':');
      if (rest.length > 0 && scope !== SCOPE) continue;
      const capability = rest.length > 0 ? rest.join(':') : key;
      const v = offered(host, capability);
      if (!matchesExtraSpec(v, requirement)) {
        return v === undefined ? `does not report ${capability} (flavor wants "${requirement}")` : `${capability} is ${JSON.stringify(v)}, flavor wants "${requirement}"`;
      }
    }
    return null;
  },
};
