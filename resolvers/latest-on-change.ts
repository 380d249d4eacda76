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
  let pushed: string | undefined;
  return stepsOnChange(changes, read, (value) => {
    const k = key(value);
    if (k === pushed) return undefined;
    pushed = k;
    return value;
  });
}

/**
 * The same watch, pushing what `step` makes of each read (what changed since the last push, say);
 * a read it makes nothing of (undefined) is not pushed.
 */
export function stepsOnChange<T, U>(
  changes: AsyncIterator<unknown>,
  read: () => Promise<T>,
  step: (value: T) => U | undefined,
): AsyncIterableIterator<U> {
  return endingWith(changes, latest(changes, read, step));
}

async function* latest<T, U>(changes: AsyncIterator<unknown>, read: () => Promise<T>, step: (value: T) => U | undefined): AsyncGenerator<U> {
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
  try {
    while (true) {
      if (!pending && !ended) await new Promise<void>((r) => (wake = r));
      if (ended) return;
      pending = false;
      const out = step(await read());
      if (out !== undefined) yield out;
    }
  } finally {
    await changes.return?.();
  }
}
