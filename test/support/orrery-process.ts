import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/orrery.js', import.meta.url));

export interface OrreryProcess {
  pid: number;
  /** The last lines it wrote on stderr (its log), for a failure message. */
  tail(): string;
  /** Resolves with the first log record whose `msg` contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (or the signal given), and SIGKILL after 10 s; says how it ended (a clean stop is code 0, no signal). */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `node bin/orrery.js <args>` as its own process (a separate API, worker or hollow-host fleet, as
 * an operator would run it), with its JSON log read from stderr.
 */
export function startOrrery(args: string[], env: Record<string, string>, nodeFlags: string[] = []): OrreryProcess {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, BIN, ...args], {
    env: { ...process.env, VITEST: '', ORRERY_LOG_LEVEL: 'info', ORRERY_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { text: string; resolve(r: Record<string, unknown>): void }[] = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 40) lines.shift();
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        if (String(rec.msg ?? '').includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const tail = () => lines.join('\n');
  return {
    pid: child.pid!,
    tail,
    waitForLog(text, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`orrery ${args[0]}: no "${text}" within ${timeoutMs} ms:\n${tail()}`)), timeoutMs);
        void exited.then((code) => reject(new Error(`orrery ${args[0]} exited (${code}) before "${text}":\n${tail()}`)));
        waiters.push({ text, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
}
