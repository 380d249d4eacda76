import type { Sql, TxSql } from '../db/connect.ts';
import { isUuid } from './instances.ts';
import type { AggregateRow, FlavorRow, HostRow, ImageRow, ProjectRow, UserRow, ZoneRow } from './rows.ts';

type Q = Sql | TxSql;

/**
 * Looks a flavor up by ID or name. With a project, a private flavor is found only when shared
 * with it; with null (admins), every flavor is.
 */
export async function findFlavor(sql: Q, ref: string, projectId: string | null): Promise<FlavorRow | undefined> {
  const [row] = await sql<FlavorRow[]>`
    select * from flavors f
     where (f.name = ${ref} or (${isUuid(ref)} and f.id = ${isUuid(ref) ? ref : null}::uuid))
       and (${projectId}::uuid is null or f.is_public
            or exists (select 1 from flavor_projects fp where fp.flavor_id = f.id and fp.project_id = ${projectId}::uuid))`;
  return row;
}

/**
 * An image visible to the project (its own or public), by ID or name; with null, any image. A
 * move's transfer image is never found: it is the control plane's for the length of the move (no
 * booting from, renaming or deleting it), and the move code reaches it by id.
 */
export async function findImage(sql: Q, ref: string, projectId: string | null): Promise<ImageRow | undefined> {
  const rows = await sql<ImageRow[]>`
    select * from images i
     where (i.name = ${ref} or (${isUuid(ref)} and i.id = ${isUuid(ref) ? ref : null}::uuid))
       and (${projectId}::uuid is null or i.visibility = 'public' or i.owner_project_id = ${projectId}::uuid)
       and i.properties->>'image_type' is distinct from 'migration'
     order by (i.owner_project_id = ${projectId}::uuid) desc nulls last, i.created_at desc
     limit 1`;
  return rows[0];
}

export async function findZone(sql: Q, ref: string): Promise<ZoneRow | undefined> {
  const [row] = await sql<ZoneRow[]>`
    select * from availability_zones where name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid)`;
  return row;
}

export async function findHost(sql: Q, ref: string): Promise<HostRow | undefined> {
  const [row] = await sql<HostRow[]>`
    select * from hosts where name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid)`;
  return row;
}

export async function findAggregate(sql: Q, ref: string): Promise<AggregateRow | undefined> {
  const [row] = await sql<AggregateRow[]>`
    select * from aggregates where name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid)`;
  return row;
}

export async function findProject(sql: Q, ref: string): Promise<ProjectRow | undefined> {
  const [row] = await sql<ProjectRow[]>`
    select * from projects where name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid)`;
  return row;
}

export async function findUser(sql: Q, ref: string): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    select * from users where name = ${ref} or (${isUuid(ref)} and id = ${isUuid(ref) ? ref : null}::uuid)`;
  return row;
}
