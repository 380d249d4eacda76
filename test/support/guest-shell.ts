import { connect, type Socket } from 'node:net';

const DONE = /ORRERY-GUEST-DONE rc=(\d+)\n/;

/**
 * The test guest's line shell on its guest-agent channel (a unix socket qemu listens on). One
 * connection for the guest's whole life: the guest's virtio port reliably answers only the first
 * host connection, and what is sent before the guest opens its side is lost, so `ready` probes
 * with a no-op until one answers.
 */
export class GuestShell {
  private buffer = '';
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.buffer += chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async open(socketPath: string, timeoutMs: number): Promise<GuestShell> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(socketPath, () => resolve(s));
          s.once('error', reject);
        });
        const shell = new GuestShell(socket);
        await shell.ready(deadline);
        return shell;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`guest shell at ${socketPath}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async ready(deadline: number): Promise<void> {
    while (!DONE.test(this.buffer)) {
      if (this.closed) throw new Error('closed before the guest answered');
      if (Date.now() > deadline) throw new Error('the guest never answered');
      this.socket.write('true\n');
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Answers to the probes still in flight arrive within a moment; drop them all.
    await new Promise((r) => setTimeout(r, 1500));
    this.buffer = '';
  }

  /** Runs one shell command in the guest: its output (stdout and stderr) and exit code. */
  async run(command: string, timeoutMs = 30_000): Promise<{ output: string; rc: number }> {
    this.buffer = '';
    this.socket.write(`${command}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = DONE.exec(this.buffer);
      if (m) {
        const output = this.buffer.slice(0, m.index);
        this.buffer = this.buffer.slice(m.index + m[0].length);
        return { output, rc: Number(m[1]) };
      }
      if (this.closed || Date.now() > deadline) throw new Error(`guest command ${JSON.stringify(command)} did not finish: ${this.buffer}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
