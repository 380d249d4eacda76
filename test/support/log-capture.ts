import { pino } from 'pino';
import type { Log } from '../../core/log.ts';

export interface CapturedLog {
  /** A debug-level pino logger whose lines land in `lines`, parsed, as a log shipper reads them. */
  log: Log;
  lines: Record<string, unknown>[];
}

/** A pino destination to read back: what a component logged, as JSON, in order. */
export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}
