import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Sql } from '../../db/connect.ts';
import { registerApiMetrics } from './api.ts';
import { registerFleetGauges } from './fleet.ts';
import { registerWorkerMetrics } from './worker.ts';

/** What one control plane process exposes at /metrics: its parts' metrics, the fleet's counts, Node's own. */
export function controlPlaneRegistry(o: { sql: Sql; serviceDownSeconds: number; api: boolean; worker: boolean }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (o.api) registerApiMetrics(registry);
  if (o.worker) registerWorkerMetrics(registry);
  registerFleetGauges(registry, o.sql, o.serviceDownSeconds);
  return registry;
}
