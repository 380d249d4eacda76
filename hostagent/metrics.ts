import { collectDefaultMetrics, Counter, Histogram, Registry, type Metric } from 'prom-client';
import type { HypervisorDriver } from './drivers/driver.ts';

// The host agent's metrics, per process: hollow hosts (--hosts N) count together.

/** A driver call or a converge step: a millisecond (a listing) to minutes (a disk copy). */
const HOST_STEP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export const driverCalls = new Histogram({
  name: 'orrery_agent_driver_call_duration_seconds',
  help: 'Time of each call to the hypervisor driver, by operation (create, stop, list, snapshot, …)',
  labelNames: ['operation'] as const,
  buckets: HOST_STEP_BUCKETS,
  registers: [],
});

export const driverErrors = new Counter({
  name: 'orrery_agent_driver_errors_total',
  help: 'Driver calls that failed, by operation',
  labelNames: ['operation'] as const,
  registers: [],
});

export const convergeDuration = new Histogram({
  name: 'orrery_agent_converge_duration_seconds',
  help: 'Time one instance took to converge one step (make the hypervisor match its assignment), by result (success, error: retried on the next pass)',
  labelNames: ['result'] as const,
  buckets: HOST_STEP_BUCKETS,
  registers: [],
});

export const passDuration = new Histogram({
  name: 'orrery_agent_pass_duration_seconds',
  help: "Time of one pass of the agent's loop over its assignments (listing domains, starting each converge, orphans, incoming migrations)",
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
  registers: [],
});

export const agentErrors = new Counter({
  name: 'orrery_agent_errors_total',
  help: 'Failures the agent logs and retries, by kind (converge, report, resync, watch, list)',
  labelNames: ['kind'] as const,
  registers: [],
});

let registry: Registry | undefined;

/** The agent process's registry, made on first use. */
export function agentRegistry(): Registry {
  if (registry) return registry;
  registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const all: Metric[] = [driverCalls, driverErrors, convergeDuration, passDuration, agentErrors];
  for (const m of all) registry.registerMetric(m);
  return registry;
}

/** Methods that are not calls to the hypervisor: registering a listener, the driver's name. */
const UNTIMED = new Set<PropertyKey>(['onChange', 'name']);

/** The driver with every asynchronous call timed and its failures counted, at the one door they all pass. */
export function timedDriver(driver: HypervisorDriver): HypervisorDriver {
  return new Proxy(driver, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function' || UNTIMED.has(prop) || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        const end = driverCalls.startTimer({ operation: prop });
        return result.then(
          (v: unknown) => (end(), v),
          (e: unknown) => {
            end();
            driverErrors.inc({ operation: prop });
            throw e;
          },
        );
      };
    },
  });
}
