import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpFakeDomains } from '../hostagent/domain-dump.ts';
import { FakeDriver } from '../hostagent/drivers/fake.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('dumpFakeDomains (the --dump-domains debug channel of hollow hosts)', () => {
  it('writes every host\'s fake domains by host name, replacing the file whole', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-dump-'));
    dirs.push(dir);
    const a = new FakeDriver();
    const b = new FakeDriver();
    // A domain as the fake hypervisor keeps it; only its id and power state are dumped.
    a.domains.set('11111111-1111-4111-8111-111111111111', { powerState: 'running' } as never);
    a.domains.set('22222222-2222-4222-8222-222222222222', { powerState: 'shutoff' } as never);
    const file = path.join(dir, 'domains.json');
    expect(await dumpFakeDomains([{ name: 'h-1', driver: a }, { name: 'h-2', driver: b }], file)).toBe(2);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      hosts: {
        'h-1': [
          { id: '11111111-1111-4111-8111-111111111111', powerState: 'running' },
          { id: '22222222-2222-4222-8222-222222222222', powerState: 'shutoff' },
        ],
        'h-2': [],
      },
    });
    a.domains.clear();
    expect(await dumpFakeDomains([{ name: 'h-1', driver: a }], file)).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ hosts: { 'h-1': [] } });
    expect(await readdir(dir)).toEqual(['domains.json']); // no temporary file left beside it
    await a.close();
    await b.close();
  });
});
