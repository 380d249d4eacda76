import type { AggregateRow } from '../../store/rows.ts';
import { builder } from '../builder.ts';
import { KeyValue, toPairs } from '../scalars.ts';

/** An aggregate with the names of its hosts, read in the same query. */
export type AggregateView = AggregateRow & { hosts: string[] };

export const Aggregate = builder.objectRef<AggregateView>('Aggregate').implement({
  description: 'A set of hosts sharing metadata the scheduler matches against (Nova host aggregate).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    metadata: t.field({ type: [KeyValue], resolve: (a) => toPairs(a.metadata) }),
    hosts: t.exposeStringList('hosts', { description: 'Names of the member hosts' }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});
