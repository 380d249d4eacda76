import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

const BIN = fileURLToPath(new URL('../bin/orrery.js', import.meta.url));
let db: TestDatabase;
const dataDir = path.join(os.tmpdir(), `orrery-log-format-${process.pid}-${Date.now()}`);

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs `orrery worker` until its stderr shows `text`, then stops it; resolves with that stderr. */
function workerStderr(args: string[], env: Record<string, string>, text: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'worker', ...args], {
    env: { ...process.env, VITEST: '', ORRERY_LOG_LEVEL: 'info', ORRERY_LOG_FORMAT: '', DATABASE_URL: db.url, ORRERY_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no "${text}" within 30 s:\n${out}`))), 30_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes(text)) child.kill('SIGTERM');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (out.includes(text)) resolve(out);
      else reject(new Error(`exited (${code}) before "${text}":\n${out}`));
    });
  });
}

describe('the log format', () => {
  it('is pino JSON by default: one object a line', async () => {
    const out = await workerStderr([], {}, 'Orrery worker running');
    const line = out.split('\n').find((l) => l.includes('Orrery worker running'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'Orrery worker running', concurrency: 10 });
  });

  it('is a human-readable line with --log-format pretty', async () => {
    const out = await workerStderr(['--log-format', 'pretty'], {}, 'Orrery worker running');
    const line = out.split('\n').find((l) => l.includes('Orrery worker running'))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Orrery worker running$/);
    // Bound fields follow on their own lines, indented.
    expect(out).toMatch(/\n {4}concurrency: 10\n/);
  });

  it('is pretty too with ORRERY_LOG_FORMAT=pretty', async () => {
    const out = await workerStderr([], { ORRERY_LOG_FORMAT: 'pretty' }, 'Orrery worker running');
    expect(out).toMatch(/\] INFO: Orrery worker running\n/);
  });
});
