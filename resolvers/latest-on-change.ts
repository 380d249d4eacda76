import { endingWith } from './ending-with.ts';

/**
 * A watch that pushes a whole state: read now, then once per burst of change notifications (a
 * burst collapses into one re-read, since each read is complete), skipping a read whose `key`
 * equals the last one pushed. The notifications stop when the consumer does, and it ends at once.
 */
export function latestOnChange<T>(
  changes: AsyncIterator<unknown>,
  read: () => Promise<T>,
  key: (value: T) => string,
): AsyncIterableIterator<T> {
  return endingWith(changes, latest(changes, read, key));
}

async function* latest<T>(changes: AsyncIterator<unknown>, read: () => Promise<T>, key: (value: T) => string): AsyncGenerator<T> {
  let pending = true;
  let ended = false;
  let wake: (() => void) | undefined;
  void (async () => {
    for (;;) {
      const r = await changes.next();
      if (r.done) {
        ended = true;
        wake?.();
        return;
      }
      pending = true;
      wake?.();
    }
  })();
  let pushed: string | undefined;
  try {
    while (true) {
      if (!pending && !ended) await new Promise<void>((r) => (wake = r));
      if (ended) return;
      pending = false;
      const value = await read();
      const k = key(value);
      if (k === pushed) continue;
      pushed = k;
      yield value;
    }
  } finally {
    await changes.return?.();
  }
}
