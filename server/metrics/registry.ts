import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Sql } from '../../db/connect.ts';
import { registerApiMetrics } from './api.ts';
import { registerFleetGauges } from './fleet.ts';
import { registerWorkerMetrics } from './worker.ts';

/**
 * How often Node's event-loop delay is sampled for nodejs_eventloop_lag_*: prom-client's default
 * (10 ms) is a libuv timer that wakes the process 100 times a second whether or not anything
 * scrapes it, about 0.25 s of CPU a minute in an idle worker on the benchmark machine; every
 * worker replica paid it. A tenth of that still sees any stall that matters (its percentiles are
 * over the delays of the samples taken).
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** What one control plane process exposes at /metrics: its parts' metrics, the fleet's counts, Node's own. */
export function controlPlaneRegistry(o: { sql: Sql; serviceDownSeconds: number; api: boolean; worker: boolean }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  if (o.api) registerApiMetrics(registry);
  if (o.worker) registerWorkerMetrics(registry);
  registerFleetGauges(registry, o.sql, o.serviceDownSeconds);
  return registry;
}
