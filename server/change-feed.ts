import type { Sql } from '../db/connect.ts';
import type { Log } from '../core/log.ts';

export const CHANNEL = 'orrery_changes';

export interface Change {
  kind: 'instance' | 'host' | 'console';
  id: string;
  projectId?: string;
  hostId?: string | null;
  previousHostId?: string | null;
  revision?: number;
  deleted?: boolean;
  /** False when nothing an agent reads changed (see migrations/000011): not worth a host view re-read. */
  agent?: boolean;
}

type Listener = (c: Change) => void;

/** Instance changes as published per statement (migrations/000033): many to a notification. */
interface InstanceChanges {
  kind: 'instances';
  changes: [id: string, projectId: string, hostId: string | null, previousHostId: string | null, revision: number, deleted: boolean, agent: boolean][];
}

function unpack(n: Change | InstanceChanges): Change[] {
  if (n.kind !== 'instances') return [n];
  return n.changes.map(([id, projectId, hostId, previousHostId, revision, deleted, agent]) =>
    ({ kind: 'instance', id, projectId, hostId, previousHostId, revision, deleted, agent }));
}

/**
 * One LISTEN connection per process fanned out to every subscription in it. Subscribers get only
 * keys; they re-read rows, so a missed or merged notification never shows stale state.
 * Host agents' subscriptions are indexed by host id: with ten thousand agents watching, one
 * notification costs a map lookup, not a call per agent.
 */
export class ChangeFeed {
  private readonly listeners = new Set<Listener>();
  private readonly byHost = new Map<string, Set<Listener>>();
  /** Console sessions waiting for a host are watched apart: they never touch the host's view. */
  private readonly consolesByHost = new Map<string, Set<Listener>>();
  private unlisten?: () => Promise<void>;

  constructor(private readonly log: Log) {}

  async start(sql: Sql, onReconnect?: () => void): Promise<void> {
    const sub = await sql.listen(
      CHANNEL,
      (payload) => {
        let changes: Change[];
        try {
          changes = unpack(JSON.parse(payload) as Change | InstanceChanges);
        } catch {
          this.log.warn({ payload }, 'ignoring malformed change notification');
          return;
        }
        for (const change of changes) this.dispatch(change);
      },
      () => onReconnect?.(),
    );
    this.unlisten = sub.unlisten;
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }

  /** Delivers one change to every general listener, and to the listeners of the host(s) it touches when their agents read it. */
  dispatch(change: Change): void {
    if (change.kind === 'console') {
      for (const l of this.consolesByHost.get(change.hostId ?? '') ?? []) l(change);
      return;
    }
    for (const l of this.listeners) l(change);
    if (change.agent === false) return;
    const hosts = [change.hostId, change.previousHostId].filter((h, i, a): h is string => !!h && a.indexOf(h) === i);
    for (const h of hosts) for (const l of this.byHost.get(h) ?? []) l(change);
  }

  /** An async stream of the changes `accept` keeps; ends when the consumer returns. */
  subscribe(accept: (c: Change) => boolean): AsyncIterableIterator<Change> {
    return this.stream((l) => {
      const listener: Listener = (c) => accept(c) && l(c);
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    });
  }

  /** The changes its agent reads that touch one host (bound to it, moved off it, or the host row itself). */
  subscribeHost(hostId: string): AsyncIterableIterator<Change> {
    return this.stream((l) => indexed(this.byHost, hostId, l));
  }

  /** Changes of the console sessions waiting for one host (its agent dials each back). */
  subscribeHostConsoles(hostId: string): AsyncIterableIterator<Change> {
    return this.stream((l) => indexed(this.consolesByHost, hostId, l));
  }

  private stream(register: (l: Listener) => () => void): AsyncIterableIterator<Change> {
    const queue: Change[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const unregister = register((c) => {
      queue.push(c);
      wake?.();
    });
    const iterator: AsyncIterableIterator<Change> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (!done && queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (done) return { value: undefined, done: true };
        return { value: queue.shift()!, done: false };
      },
      return: async () => {
        done = true;
        unregister();
        wake?.();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }
}

function indexed(index: Map<string, Set<Listener>>, hostId: string, l: Listener): () => void {
  const set = index.get(hostId) ?? new Set<Listener>();
  index.set(hostId, set);
  set.add(l);
  return () => {
    set.delete(l);
    if (set.size === 0 && index.get(hostId) === set) index.delete(hostId);
  };
}
