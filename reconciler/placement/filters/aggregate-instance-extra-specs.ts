import { aggregateValues } from '../aggregate-values.ts';
import { matchesExtraSpec } from '../extra-specs-match.ts';
import type { Filter } from '../types.ts';

const SCOPE = 'aggregate_instance_extra_specs';

/**
 * Flavor extra specs scoped `aggregate_instance_extra_specs:` (and unscoped ones, as Nova does)
 * against the metadata of the host's aggregates: some aggregate must offer a matching value.
 */
export const aggregateInstanceExtraSpecsFilter: Filter = {
  name: 'AggregateInstanceExtraSpecs',
  check(req, host) {
    for (const [key, requirement] of Object.entries(req.extraSpecs)) {
      const [scope, ...rest] = key.split(':');
      if (rest.length > 0 && scope !== SCOPE) continue;
      const k = rest.length > 0 ? rest.join(':') : key;
      const offered = aggregateValues(host, k);
      if (offered.length === 0) return `no aggregate of the host sets ${k} (flavor wants "${requirement}")`;
      if (!offered.some((v) => matchesExtraSpec(v, requirement))) {
        return `aggregate ${k} is ${offered.join(' / ')}, flavor wants "${requirement}"`;
      }
    }
    return null;
  },
};
