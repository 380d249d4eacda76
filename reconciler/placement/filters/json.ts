import { evaluateQuery, queryVariables } from '../json-query.ts';
import type { Filter } from '../types.ts';

/** The `query` scheduler hint (Nova's JsonFilter); no hint passes every host. */
export const jsonFilter: Filter = {
  name: 'Json',
  check(req, host) {
    if (req.query === null) return null;
    return evaluateQuery(req.query as unknown[], queryVariables(host)) ? null : `does not satisfy query ${JSON.stringify(req.query)}`;
  },
  summarise: (req) => `do not satisfy query ${JSON.stringify(req.query)}`,
};
