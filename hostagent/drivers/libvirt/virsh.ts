import { execFile } from 'node:child_process';

/**
 * Runs `virsh` once per call with an argument array (never a shell). A long-lived `virsh` reading
 * stdin is faster (~1 ms against ~30 ms a call) but echoes a prompt into its output, interleaves
 * errors on another stream, serializes slow commands (managedsave, destroy) behind one another
 * and must be nursed through daemon restarts. One process per call has none of that: calls run
 * concurrently, a failure is an exit code, and a restarted daemon is simply the next connection.
 * Where many domains are read at once (list), `batch` packs the commands into a single call.
 */
export class Virsh {
  constructor(
    readonly uri: string,
    private readonly timeoutMs = 120_000,
  ) {}

  /** Runs one command; rejects with VirshError when virsh exits non-zero (or outlives `timeoutMs`). */
  run(args: string[], timeoutMs = this.timeoutMs): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'virsh',
        ['-q', '-c', this.uri, ...args],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new VirshError(args, stderr.trim() || err.message));
          else resolve(stdout);
        },
      );
    });
  }

  /**
   * Runs several commands in one virsh process, in order. virsh goes on after a failing command
   * (a domain that vanished meanwhile), so callers must only use outputs that identify themselves
   * (dumpxml carries the uuid). The exit code is the last command's, hence the trailing `echo`:
   * it still fails when the connection does. Arguments are restricted to plain tokens because
   * virsh's own parser splits the line.
   */
  async batch(commands: string[][]): Promise<string> {
    for (const arg of commands.flat()) {
      if (!PLAIN_TOKEN.test(arg)) throw new Error(`virsh batch argument not a plain token: ${arg}`);
    }
    let out = '';
    for (let i = 0; i < commands.length; i += BATCH_SIZE) {
      const chunk = commands.slice(i, i + BATCH_SIZE).map((c) => c.join(' '));
      out += await this.run([[...chunk, 'echo'].join(' ; ')]);
    }
    return out;
  }
}

const PLAIN_TOKEN = /^[A-Za-z0-9._:/=-]+$/;
/** Keeps one command line far below the kernel's per-argument limit (128 KiB). */
const BATCH_SIZE = 200;

export class VirshError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
  ) {
    super(`virsh ${args[0] ?? ''}: ${stderr}`);
  }

  /** libvirt's VIR_ERR_NO_DOMAIN, worded differently across commands and versions. */
  get noDomain(): boolean {
    return /failed to get domain|Domain not found|no domain with matching/i.test(this.stderr);
  }
}
