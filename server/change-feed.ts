import type { Sql } from '../db/connect.ts';
import type { Log } from '../core/log.ts';

export const CHANNEL = 'orrery_changes';

export interface Change {
  kind: 'instance' | 'host';
  id: string;
  projectId?: string;
  hostId?: string | null;
  previousHostId?: string | null;
  revision?: number;
  deleted?: boolean;
}

type Listener = (c: Change) => void;

/**
 * One LISTEN connection per process fanned out to every subscription in it. Subscribers get only
 * keys; they re-read rows, so a missed or merged notification never shows stale state.
 */
export class ChangeFeed {
  private readonly listeners = new Set<Listener>();
  private unlisten?: () => Promise<void>;

  constructor(private readonly log: Log) {}

  async start(sql: Sql, onReconnect?: () => void): Promise<void> {
    const sub = await sql.listen(
      CHANNEL,
      (payload) => {
        let change: Change;
        try {
          change = JSON.parse(payload) as Change;
        } catch {
          this.log.warn({ payload }, 'ignoring malformed change notification');
          return;
        }
        for (const l of this.listeners) l(change);
      },
      () => onReconnect?.(),
    );
    this.unlisten = sub.unlisten;
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }

  /** An async stream of the changes `accept` keeps; ends when the consumer returns. */
  subscribe(accept: (c: Change) => boolean): AsyncIterableIterator<Change> {
    const queue: Change[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const listener: Listener = (c) => {
      if (!accept(c)) return;
      queue.push(c);
      wake?.();
    };
    this.listeners.add(listener);
    const finish = () => {
      done = true;
      this.listeners.delete(listener);
      wake?.();
    };
    const iterator: AsyncIterableIterator<Change> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (!done && queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (done) return { value: undefined, done: true };
        return { value: queue.shift()!, done: false };
      },
      return: async () => {
        finish();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }
}
