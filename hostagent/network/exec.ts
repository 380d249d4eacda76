import { execFile } from 'node:child_process';

/**
 * Runs the host's network tools (ip, bridge, iptables-restore, nft, dnsmasq) as argument arrays,
 * never through a shell. With `netns` every command runs inside that network namespace, which is
 * where the host's qemu and taps live when the "host" is itself a namespace (the two-host test
 * fixture); on a real host it is unset.
 */
export class HostCommands {
  constructor(readonly netns?: string) {}

  run(cmd: string, args: string[], input?: string): Promise<string> {
    return runIn(this.netns, cmd, args, input);
  }

  /** The same tools inside another namespace (a network's service namespace). */
  inNamespace(name: string): HostCommands {
    return new HostCommands(name);
  }

  /** `ip -j …` parsed; an absent object (a device that does not exist) is an empty list. */
  async json<T>(args: string[]): Promise<T[]> {
    try {
      return JSON.parse((await this.run('ip', ['-j', ...args])) || '[]') as T[];
    } catch (e) {
      if (e instanceof CommandError && /does not exist|Cannot find device/.test(e.stderr)) return [];
      throw e;
    }
  }
}

function runIn(netns: string | undefined, cmd: string, args: string[], input?: string): Promise<string> {
  const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError([cmd, ...args], stderr.trim() || err.message));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr}`);
    this.name = 'CommandError';
  }
}
