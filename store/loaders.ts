import DataLoader from 'dataloader';
import type { Sql } from '../db/connect.ts';
import type { FlavorRow, HostRow, ImageRow, ZoneRow } from './rows.ts';

function byId<T extends { id: string }>(load: (ids: string[]) => Promise<T[]>) {
  return new DataLoader<string, T | undefined>(async (ids) => {
    const rows = new Map((await load([...ids])).map((r) => [r.id, r]));
    return ids.map((id) => rows.get(id));
  });
}

/** Per-request batch loaders: one `where id = any(...)` per type per tick. */
export function createLoaders(sql: Sql) {
  return {
    flavor: byId<FlavorRow>((ids) => sql<FlavorRow[]>`select * from flavors where id = any(${ids}::uuid[])`),
    image: byId<ImageRow>((ids) => sql<ImageRow[]>`select * from images where id = any(${ids}::uuid[])`),
    host: byId<HostRow>((ids) => sql<HostRow[]>`select * from hosts where id = any(${ids}::uuid[])`),
    zone: byId<ZoneRow>((ids) => sql<ZoneRow[]>`select * from availability_zones where id = any(${ids}::uuid[])`),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
