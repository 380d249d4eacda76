import type { Sql } from '../../db/connect.ts';
import { bootstrapAdmin } from '../../store/bootstrap.ts';

export interface Seeded {
  projectId: string;
  userId: string;
  flavorId: string;
  imageId: string;
}

/** An admin project, one small flavor and an active image, written directly (no API). */
export async function seedCatalogue(sql: Sql, flavor = { vcpus: 1, ramMb: 512, diskGb: 1 }): Promise<Seeded> {
  const admin = await bootstrapAdmin(sql);
  const [f] = await sql<{ id: string }[]>`
    insert into flavors (name, vcpus, ram_mb, disk_gb) values ('m.seed', ${flavor.vcpus}, ${flavor.ramMb}, ${flavor.diskGb}) returning id`;
  const [i] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, disk_format, status) values ('img', ${admin.projectId}, 'qcow2', 'active') returning id`;
  return { projectId: admin.projectId, userId: admin.userId, flavorId: f!.id, imageId: i!.id };
}

/** `count` up hosts named prefix-0…, with a fresh heartbeat. */
export async function seedHosts(sql: Sql, prefix: string, count: number, size = { vcpus: 16, memoryMb: 16384, diskGb: 500 }): Promise<void> {
  await sql`
    insert into hosts (name, vcpus, memory_mb, disk_gb, last_heartbeat_at, hypervisor_type, hypervisor_version, architecture)
    select ${prefix} || '-' || g, ${size.vcpus}, ${size.memoryMb}, ${size.diskGb}, now(), 'QEMU', '8.2.0', 'x86_64'
      from generate_series(0, ${count - 1}) g`;
}

/** `count` instances waiting for placement, optionally members of a group; returns their ids. */
export async function seedInstances(sql: Sql, s: Seeded, prefix: string, count: number, groupId: string | null = null): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    insert into instances (project_id, user_id, name, flavor_id, image_id)
    select ${s.projectId}, ${s.userId}, ${prefix} || '-' || g, ${s.flavorId}, ${s.imageId} from generate_series(1, ${count}) g
    returning id`;
  const ids = rows.map((r) => r.id);
  if (groupId) await sql`insert into server_group_members (group_id, instance_id) select ${groupId}, unnest(${ids}::uuid[])`;
  return ids;
}

export async function seedGroup(sql: Sql, s: Seeded, name: string, policy: string, maxServerPerHost: number | null = null): Promise<string> {
  const [g] = await sql<{ id: string }[]>`
    insert into server_groups (project_id, user_id, name, policy, max_server_per_host)
    values (${s.projectId}, ${s.userId}, ${name}, ${policy}, ${maxServerPerHost}) returning id`;
  return g!.id;
}

/** Polls until no instance waits for a host (placed or in ERROR). */
export async function waitAllSettled(sql: Sql, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from instances where host_id is null and vm_state <> 'error'`;
    if (row!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${row!.n} instances still unplaced`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
