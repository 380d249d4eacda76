import { loadConfig, type Config } from '../../core/config.ts';
import { OrreryClient } from '../../client/graphql.ts';
import { startControlPlane, type ControlPlane } from '../../server/control-plane.ts';
import { bootstrapAdmin } from '../../store/bootstrap.ts';
import { issueToken } from '../../store/tokens.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import type { Role } from '../../core/principal.ts';
import type { Sql } from '../../db/connect.ts';
import type { Log } from '../../core/log.ts';

export interface TestControlPlane {
  db: TestDatabase;
  cp: ControlPlane;
  url: string;
  admin: OrreryClient;
  adminProjectId: string;
  /** A user in a project (created if missing) holding exactly these roles, with its own client. */
  userClient(projectName: string, userName: string, roles: Role[]): Promise<{ client: OrreryClient; projectId: string; userId: string }>;
  stop(): Promise<void>;
}

/** A whole control plane (API + worker unless told otherwise) on a fresh database, port chosen by the OS. */
export async function startTestControlPlane(
  options: { worker?: boolean; config?: Partial<Config>; log?: Log } = {},
): Promise<TestControlPlane> {
  const db = await createTestDatabase();
  // Leases renewed every second, as test agents ping (their heartbeat is 1 s).
  const config = loadConfig({ port: 0, dataDir: `/tmp/orrery-test-data-${process.pid}-${Date.now()}`, leaseRenewSeconds: 1, ...options.config });
  const cp = await startControlPlane({ config, databaseUrl: db.url, api: true, worker: options.worker ?? true, log: options.log });
  const boot = await bootstrapAdmin(db.sql);
  const admin = new OrreryClient(cp.url!, boot.adminToken!);
  const clients: OrreryClient[] = [admin];
  return {
    db,
    cp,
    url: cp.url!,
    admin,
    adminProjectId: boot.projectId,
    async userClient(projectName, userName, roles) {
      const u = await ensureUser(db.sql, projectName, userName, roles);
      const token = await issueToken(db.sql, { kind: 'user', userId: u.userId, projectId: u.projectId });
      const client = new OrreryClient(cp.url!, token.secret);
      clients.push(client);
      return { client, ...u };
    },
    async stop() {
      for (const c of clients) await c.close();
      await cp.stop();
      await db.drop();
    },
  };
}

async function ensureUser(sql: Sql, projectName: string, userName: string, roles: Role[]) {
  const [p] = await sql<{ id: string }[]>`
    insert into projects (name) values (${projectName}) on conflict (name) do update set name = excluded.name returning id`;
  const [u] = await sql<{ id: string }[]>`
    insert into users (name) values (${userName}) on conflict (name) do update set name = excluded.name returning id`;
  for (const role of roles) {
    await sql`insert into role_assignments (user_id, project_id, role) values (${u!.id}, ${p!.id}, ${role}) on conflict do nothing`;
  }
  return { projectId: p!.id, userId: u!.id };
}
