import { Logger as WorkerLogger } from 'graphile-worker';
import { pino, type Logger } from 'pino';

export type Log = Logger;

let root: Logger | undefined;

/** The process logger: JSON lines on stderr, level from ORRERY_LOG_LEVEL (default info; silent under vitest). */
export function rootLog(): Logger {
  root ??= pino(
    { level: process.env.ORRERY_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'), base: { pid: process.pid } },
    pino.destination(2),
  );
  return root;
}

/** graphile-worker logs through pino; its per-job chatter is debug so it does not cost throughput. */
export function workerLogger(): WorkerLogger {
  const log = rootLog().child({ component: 'worker' });
  return new WorkerLogger(() => (level, message, meta) => {
    const target = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[target](meta ?? {}, message);
  });
}
