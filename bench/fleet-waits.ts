import type { Sql } from '../db/connect.ts';

/**
 * Samples what the database's busy sessions are doing (pg_stat_activity) a few times a second:
 * a poor man's wait-event profile. "CPU" means active and not waiting on anything.
 */
export class WaitSampler {
  private readonly counts = new Map<string, number>();
  private lockWaits = 0;
  private samples = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly sql: Sql, private readonly everyMs = 250) {}

  start(): void {
    const tick = async () => {
      const rows = await this.sql<{ what: string; n: number }[]>`
        select application_name || ' ' || coalesce(wait_event_type || ':' || wait_event, 'CPU')
               -- For lock waits, which statement waits says which rows are contended.
               || case when wait_event_type = 'Lock' then ' in "' || left(regexp_replace(query, '\\s+', ' ', 'g'), 48) || '…"' else '' end as what,
               count(*)::int as n
          from pg_stat_activity
         where datname = current_database() and state = 'active' and pid <> pg_backend_pid()
           and query not ilike 'listen %'
         group by 1`.catch(() => []);
      this.samples++;
      for (const r of rows) {
        this.counts.set(r.what, (this.counts.get(r.what) ?? 0) + r.n);
        if (/ Lock:/.test(r.what)) this.lockWaits += r.n;
      }
      this.timer = setTimeout(() => void tick(), this.everyMs);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Average sessions waiting on a heavyweight lock (row, transaction id, advisory, relation). */
  lockSessions(): number {
    return this.lockWaits / Math.max(1, this.samples);
  }

  /** The busiest states: average number of sessions in each, over all samples. */
  top(n = 6): { what: string; sessions: number }[] {
    return [...this.counts.entries()]
      .map(([what, c]) => ({ what, sessions: c / Math.max(1, this.samples) }))
      .sort((a, b) => b.sessions - a.sessions)
      .slice(0, n);
  }
}
