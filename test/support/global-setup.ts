import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { connect } from '../../db/connect.ts';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { installSchema } from '../../db/install.ts';

const TEMPLATE = 'orrery_test_template';

/**
 * Gives every test file a real PostgreSQL: the server in DATABASE_URL when set, otherwise an
 * embedded one. The schema is built once into a template; files clone it (fast, isolated).
 */
export default async function setup(project: TestProject) {
  let baseUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!baseUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-test-pg-'));
    await chmod(dir, 0o755); // the embedded server runs as the postgres user when we are root
    const db = await startEmbeddedPostgres(path.join(dir, 'data'), { durable: false });
    baseUrl = db.url;
    stop = async () => {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = connect(baseUrl, { max: 1 });
  await admin.unsafe(`drop database if exists ${TEMPLATE}`);
  await admin.unsafe(`create database ${TEMPLATE}`);
  const templateUrl = withDatabase(baseUrl, TEMPLATE);
  await installSchema(templateUrl);
  await admin.end();
  project.provide('databaseUrl', baseUrl);
  project.provide('templateDatabase', TEMPLATE);
  return async () => {
    const cleanup = connect(baseUrl, { max: 1 });
    const dbs = await cleanup<{ datname: string }[]>`select datname from pg_database where datname like 'orrery_test_%'`;
    for (const { datname } of dbs) await cleanup.unsafe(`drop database if exists ${datname} with (force)`);
    await cleanup.end();
    await stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    templateDatabase: string;
  }
}
