import { OsError } from '../errors.ts';

/**
 * Password logins come before any token, and each costs a scrypt hash (about 128 MiB and 0.3 s on
 * libuv's small thread pool, which image files and DNS share). So only a few run at once and a
 * few more wait; past that a login is refused at once (429, Retry-After) instead of queueing
 * memory and starving the pool.
 */
export class LoginGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrent: number,
    private readonly queued: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrent) {
      if (this.waiting.length >= this.queued) {
        throw new OsError(429, `too many logins at once (${this.concurrent} running, ${this.queued} waiting); retry in 1 s`, { 'retry-after': '1' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // A waiter takes over this slot; with none, the slot is free.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
