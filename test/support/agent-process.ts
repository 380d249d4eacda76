import { spawn, type ChildProcess } from 'node:child_process';

export interface AgentProcess {
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** `orrery hostagent` as its own process, as an operator runs it; its log is kept for failures. */
export function startAgentProcess(args: string[]): AgentProcess {
  let log = '';
  const child = spawn(process.execPath, ['bin/orrery.js', 'hostagent', ...args], {
    env: { ...process.env, ORRERY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-20_000)));
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
