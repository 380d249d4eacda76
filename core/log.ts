import { Logger as WorkerLogger } from 'graphile-worker';
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import { logFormat } from './log-format.ts';

export type Log = Logger;

let root: Logger | undefined;

/**
 * The process logger on stderr, level from ORRERY_LOG_LEVEL (default info; silent under vitest):
 * JSON lines for machines by default; `pretty` gives humans pino-pretty's coloured lines, written
 * in this thread (sync) so the last lines before an exit are not lost.
 */
export function rootLog(): Logger {
  const options = { level: process.env.ORRERY_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'), base: { pid: process.pid } };
  root ??= logFormat() === 'pretty' ? pino(options, prettyStream()) : pino(options, pino.destination(2));
  return root;
}

/** Loaded only when asked for: pino-pretty takes 70 ms or more to load, which JSON processes need not pay. */
function prettyStream() {
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return PinoPretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/** graphile-worker logs through pino; its per-job chatter is debug so it does not cost throughput. */
export function workerLogger(): WorkerLogger {
  const log = rootLog().child({ component: 'worker' });
  return new WorkerLogger(() => (level, message, meta) => {
    const target = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[target](meta ?? {}, message);
  });
}
