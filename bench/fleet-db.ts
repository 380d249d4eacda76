import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { connect, type Sql } from '../db/connect.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { bootstrapAdmin } from '../store/bootstrap.ts';

/**
 * The server a benchmark creates its databases on: DATABASE_URL when set, else an embedded
 * PostgreSQL (fsync off) in `work`, which `stop` shuts down.
 */
export async function benchPostgres(work: string): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) return { baseUrl: url, stop: async () => {} };
  await chmod(work, 0o755); // the embedded server runs as the postgres user when we are root
  const db = await startEmbeddedPostgres(path.join(work, 'pg'), { durable: false });
  return { baseUrl: withDatabase(db.url, 'postgres'), stop: db.stop };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** An empty database of that name on the bench server (dropped first if a previous run left it). */
export async function freshDatabase(baseUrl: string, name: string): Promise<string> {
  const admin = connect(baseUrl, { max: 1 });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return withDatabase(baseUrl, name);
}

export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  const admin = connect(baseUrl, { max: 1 });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/**
 * A fleet inserted by SQL (a hundred thousand agents do not fit on one machine): `hosts` alike
 * hosts up now, and `instances` unplaced instances of one small flavor, in insertion order.
 */
export async function seedSqlFleet(sql: Sql, hosts: number, instances: number): Promise<string[]> {
  const admin = await bootstrapAdmin(sql);
  await sql`
    insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, hypervisor_type, hypervisor_version, architecture)
    select 'h-' || g, 16, 65536, 1000, now(), 'fake', '1.0', 'x86_64' from generate_series(1, ${hosts}) g`;
  await sql`analyze hosts`;
  const [f] = await sql<{ id: string }[]>`insert into flavors (name, vcpus, ram_mb, disk_gb) values ('p.small', 1, 512, 1) returning id`;
  const [img] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  const rows = await sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${admin.projectId}, ${admin.userId}, 'p-' || g, ${f!.id}, ${img!.id} from generate_series(1, ${instances}) g returning id`;
  // Each with its running create action, as createInstances writes it: placing records its step there.
  await sql`insert into instance_actions (instance_id, project_id, action, request_id, user_id)
            select id, project_id, 'create', 'bench', user_id from instances`;
  await sql`analyze instances`;
  return rows.map((r) => r.id);
}
