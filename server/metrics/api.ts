import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

// The API's metrics. Defined once per process and registered in each control plane's registry
// (see registry.ts): a test process may run two control planes, and they count together.

/** Labels: `type` query|mutation|subscription, `field` the first root field (bounded by the schema, unlike client-chosen operation names), `transport` http|ws. */
export const graphqlOperations = new Counter({
  name: 'orrery_graphql_operations_total',
  help: 'GraphQL operations answered, by type, first root field, transport and outcome (success, or the first error code)',
  labelNames: ['type', 'field', 'transport', 'outcome'] as const,
  registers: [],
});

export const graphqlDuration = new Histogram({
  name: 'orrery_graphql_operation_duration_seconds',
  help: 'Time to answer a GraphQL query or mutation, by type, first root field and transport (subscriptions are not timed)',
  labelNames: ['type', 'field', 'transport'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

export const activeSubscriptions = new Gauge({
  name: 'orrery_graphql_active_subscriptions',
  help: 'GraphQL subscriptions open on this process, by root field (agentAssignments: one per connected agent)',
  labelNames: ['field'] as const,
  registers: [],
});

export const openSockets = new Gauge({
  name: 'orrery_graphql_sockets',
  help: 'Open graphql-ws sockets on this process, by the kind of their token (host: host agents)',
  labelNames: ['principal'] as const,
  registers: [],
});

export const leaseRenewals = new Counter({
  name: 'orrery_host_lease_renewals_total',
  help: "Statements renewing the leases of the hosts whose agents' sockets to this process showed traffic (one per ORRERY_LEASE_RENEW_SECONDS at most), by outcome (success or error)",
  labelNames: ['outcome'] as const,
  registers: [],
});

export function registerApiMetrics(registry: Registry): void {
  const all: Metric[] = [graphqlOperations, graphqlDuration, activeSubscriptions, openSockets, leaseRenewals];
  for (const m of all) registry.registerMetric(m);
}
