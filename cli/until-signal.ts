/** What a long-running command brought up, each stopped in reverse order on SIGINT or SIGTERM. */
export interface Stops {
  add(stop: () => Promise<void>): void;
  /** True once a signal came: start-up skips what is left to bring up. */
  readonly requested: boolean;
}

/**
 * Runs `start` until SIGINT or SIGTERM, then stops what it added and exits 0. The handlers go in
 * before anything starts: a signal that arrives during start-up (or just as a supervisor reads the
 * "running" log line) waits for start-up to end and stops cleanly, instead of meeting the default
 * handler and killing the process with its database or guests' plumbing half-stopped.
 */
export async function runUntilSignal(start: (stops: Stops) => Promise<void>, onSignal?: (signal: string) => void): Promise<void> {
  const added: (() => Promise<void>)[] = [];
  let requested = false;
  let started: Promise<void> = Promise.resolve();
  const stop = async (signal: string) => {
    if (requested) return;
    requested = true;
    onSignal?.(signal);
    await started.catch(() => {});
    for (const s of added.reverse()) await s();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  started = start({
    add: (s) => void added.push(s),
    get requested() {
      return requested;
    },
  });
  await started;
}
