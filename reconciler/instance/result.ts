import type { Config } from '../../core/config.ts';
import type { Log } from '../../core/log.ts';
import type { Fault } from '../../store/instances.ts';

export interface ReconcileResult {
  /** Come back after this many seconds (the step is waiting on someone else). */
  requeueAfter?: number;
  /** What happened, for logs and metrics. */
  outcome: string;
}

export interface ReconcileDeps {
  config: Config;
  log: Log;
}

export function fault(code: string, message: string, details?: string): Fault {
  return { code, message, details, time: new Date().toISOString() };
}
