import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Event kinds after which a domain's power state may differ. */
const STATE_EVENTS = new Set(['lifecycle', 'reboot']);
const MIN_RETRY_MS = 200;
const MAX_RETRY_MS = 2_000;
/** virsh fails within milliseconds when it cannot connect; one still running after this is connected. */
const CONNECTED_MS = 1_000;

/**
 * Follows `virsh event --loop --all` and reports the name of each domain whose state may have
 * changed. virsh exits when the daemon restarts (or is not up yet), so the stream starts it again
 * with a growing delay, reset once a connection holds. Events during the gap are lost, so every
 * time a connection holds `onConnected` runs, for the caller to look at everything again.
 */
export class DomainEventStream {
  private child: ChildProcess | null = null;
  private retryMs = MIN_RETRY_MS;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly uri: string,
    private readonly onDomain: (name: string) => void,
    private readonly onConnected: () => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }

  private spawn(): void {
    const child = spawn('virsh', ['-q', '-c', this.uri, 'event', '--loop', '--all'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^event '([\w-]+)' for domain '(.*?)'/.exec(line);
      if (m && STATE_EVENTS.has(m[1]!)) this.onDomain(m[2]!);
    });
    let ended = false;
    this.timer = setTimeout(() => {
      this.retryMs = MIN_RETRY_MS;
      this.onConnected();
    }, CONNECTED_MS);
    const retry = () => {
      if (ended || this.stopped) return;
      ended = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.spawn(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    };
    // A failed spawn may report only 'error'; a normal exit only 'close'.
    child.on('error', retry);
    child.on('close', retry);
  }
}
