/**
 * Group commit for requests that arrive by the thousand: each caller adds one item and awaits its
 * own result; items that arrive within `lingerMs` of the first, or while a flush is running, go to
 * the database together in the next flush (one statement, one transaction). At low load an item
 * waits at most `lingerMs`; at high load the batches grow instead of the queue.
 */
export interface BatcherOptions {
  lingerMs: number;
  maxBatch: number;
  /** Flushes allowed at once; more items wait for one to finish. */
  maxInFlight: number;
}

interface Pending<In, Out> {
  item: In;
  resolve(o: Out): void;
  reject(e: unknown): void;
}

export class Batcher<In, Out> {
  private pending: Pending<In, Out>[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    private readonly flush: (items: In[]) => Promise<Out[]>,
    private readonly o: BatcherOptions,
  ) {}

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.o.maxBatch) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.o.lingerMs);
    });
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // A full house: the flush that finishes first takes what waits.
    if (this.inFlight >= this.o.maxInFlight || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.o.maxBatch);
    this.inFlight++;
    this.flush(batch.map((p) => p.item))
      .then(
        (out) => batch.forEach((p, i) => p.resolve(out[i]!)),
        (e: unknown) => batch.forEach((p) => p.reject(e)),
      )
      .finally(() => {
        this.inFlight--;
        if (this.pending.length > 0) this.flushNow();
      });
  }
}
