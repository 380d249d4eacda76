import type { Runner } from 'graphile-worker';
import { loadConfig, type Config } from '../../core/config.ts';
import { rootLog } from '../../core/log.ts';
import { connect, type Sql } from '../../db/connect.ts';
import { startWorker } from '../../reconciler/worker.ts';

/** Several independent workers (each its own pool), as separate processes would be. */
export async function startWorkers(
  url: string,
  count: number,
  concurrency = 5,
  overrides: Partial<Config> = {},
): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig({ serviceDownSeconds: 3600, workerConcurrency: concurrency, sweepIntervalSeconds: 3600, ...overrides });
  const runners: Runner[] = [];
  const pools: Sql[] = [];
  for (let w = 0; w < count; w++) {
    const sql = connect(url, { max: concurrency + 1 });
    pools.push(sql);
    runners.push(await startWorker({ sql, databaseUrl: url, config, log: rootLog() }));
  }
  return {
    async stop() {
      for (const r of runners) await r.stop();
      for (const p of pools) await p.end();
    },
  };
}
