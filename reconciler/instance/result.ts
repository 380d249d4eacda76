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

/** A move now in VERIFY_RESIZE: come back when the auto-confirm window (if any) has passed. */
export function verifyResizeResult(deps: ReconcileDeps): ReconcileResult {
  const window = deps.config.resizeConfirmWindowSeconds;
  return { outcome: 'verify-resize', requeueAfter: window > 0 ? window : undefined };
}
