import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlRequestError, OrreryClient } from '../client/graphql.ts';
import { freePort } from '../db/embedded.ts';
import { startTestControlPlane } from './support/control-plane.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { startOrrery, type OrreryProcess } from './support/orrery-process.ts';

let db: TestDatabase;
let server: OrreryProcess;
let url: string;
const dataDir = path.join(os.tmpdir(), `orrery-internal-errors-${process.pid}-${Date.now()}`);
const token = `orr_u_internal-errors-${process.pid}`;

/** A query whose SQL fails once the zones table is gone: the database's words, which no client should read. */
const ZONES = `{ availabilityZones { id name } }`;

async function postZones(requestId?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ query: ZONES }),
  });
  return (await res.json()) as { errors?: { message: string; extensions: Record<string, unknown> }[] };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  // `npm start` is `orrery server`: the same command, on this test's database, NODE_ENV unset as there.
  server = startOrrery(['server'], {
    DATABASE_URL: db.url, ORRERY_ADMIN_TOKEN: token, ORRERY_PORT: String(port), ORRERY_DATA_DIR: dataDir, NODE_ENV: '', ORRERY_DEV: '',
  });
  await server.waitForLog('Orrery API listening');
  url = `http://127.0.0.1:${port}`;
  await db.sql`alter table availability_zones rename to availability_zones_hidden_by_test`;
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('an unexpected error under orrery server', () => {
  it('reaches the client as "internal error" and its request id, with no stack trace nor SQL', async () => {
    const logged = server.waitForLog('unexpected error');
    const body = await postZones('internal-errors-test-1');
    expect(body.errors).toEqual([{
      message: 'internal error (request internal-errors-test-1)',
      locations: [{ line: 1, column: 3 }],
      path: ['availabilityZones'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'internal-errors-test-1' },
    }]);
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|availability_zones|relation/);
    const line = await logged;
    expect(line.requestId).toBe('internal-errors-test-1');
    expect(line.err).toMatchObject({ type: 'PostgresError', message: 'relation "availability_zones" does not exist' });
  });

  it('gives a request that named no id a fresh one, the same in the answer and the log', async () => {
    const logged = server.waitForLog('unexpected error');
    const body = await postZones();
    const id = body.errors![0]!.extensions.requestId as string;
    expect(id).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(body.errors![0]!.message).toBe(`internal error (request ${id})`);
    expect((await logged).requestId).toBe(id);
  });

  it('hides it over the WebSocket too', async () => {
    const client = new OrreryClient(url, token);
    const err = (await client.requestOverSocket(ZONES).catch((e: unknown) => e)) as GraphqlRequestError;
    await client.close();
    expect(err).toBeInstanceOf(GraphqlRequestError);
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0]!.message).toMatch(/^internal error \(request req-[0-9a-f-]{36}\)$/);
    expect(JSON.stringify(err.errors)).not.toMatch(/stacktrace|availability_zones|relation/);
  });
});

describe('development mode (ORRERY_DEV=1)', () => {
  it('shows the original message and the stack trace, for the developer at the keyboard', async () => {
    const tcp = await startTestControlPlane({ worker: false, config: { dev: true } });
    try {
      await tcp.db.sql`alter table availability_zones rename to availability_zones_hidden_by_test`;
      const err = (await tcp.admin.request(ZONES).catch((e: unknown) => e)) as GraphqlRequestError;
      expect(err.errors[0]!.message).toBe('relation "availability_zones" does not exist');
      expect(err.errors[0]!.extensions!.stacktrace).toEqual(expect.arrayContaining([expect.stringMatching(/PostgresError/)]));
    } finally {
      await tcp.stop();
    }
  });
});
