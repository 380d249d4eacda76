/** How the process logger writes (core/log.ts); apart from it so the CLI sets it without loading pino. */

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

let format: LogFormat = 'json';

/** `--log-format` (its default ORRERY_LOG_FORMAT, else json): the command line sets it before anything logs. */
export function useLogFormat(raw: string): void {
  if (!(LOG_FORMATS as readonly string[]).includes(raw)) {
    throw new Error(`--log-format takes ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(raw)}`);
  }
  format = raw as LogFormat;
}

export function logFormat(): LogFormat {
  return format;
}
