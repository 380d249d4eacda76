import type { Filter } from '../types.ts';

/** A live migration needs a destination whose hypervisor other hosts can reach. */
export const liveMigrationTargetFilter: Filter = {
  name: 'LiveMigrationTarget',
  check(req, host) {
    return req.liveMigration && host.migrationUri === null ? 'cannot receive live migrations (its agent gave no migration URI)' : null;
  },
};
