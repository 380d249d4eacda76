import { rename, writeFile } from 'node:fs/promises';
import type { FakeDriver } from './drivers/fake.ts';

/** One hollow host's fake domains as the dump lists them. */
export interface DumpedDomain {
  id: string;
  powerState: string;
}

/**
 * Writes the fake domains of every hollow host of this process to `file` as JSON
 * (`{ "hosts": { "<host name>": [{ "id", "powerState" }] } }`), replaced atomically (written
 * beside it, then renamed), so a reader never sees half a dump. A debug channel for harnesses
 * that check, from outside the process, which domains the fake hypervisors hold.
 */
export async function dumpFakeDomains(hosts: { name: string; driver: FakeDriver }[], file: string): Promise<number> {
  const out: Record<string, DumpedDomain[]> = {};
  let count = 0;
  for (const h of hosts) {
    out[h.name] = [...h.driver.domains.entries()].map(([id, d]) => ({ id, powerState: d.powerState }));
    count += out[h.name]!.length;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ hosts: out }));
  await rename(tmp, file);
  return count;
}
