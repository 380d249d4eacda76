import type { Sql } from '../db/connect.ts';
import type { Log } from '../core/log.ts';
import type { Principal } from '../core/principal.ts';
import type { Policy } from '../policies/policy.ts';
import type { ChangeFeed } from '../server/change-feed.ts';
import type { ConsoleProxy } from '../server/console-proxy.ts';
import type { Config } from '../core/config.ts';
import type { Loaders } from '../store/loaders.ts';

/** Per-request context: the caller, and the services resolvers use. No globals. */
export interface Context {
  sql: Sql;
  log: Log;
  config: Config;
  policy: Policy;
  principal: Principal;
  requestId: string;
  changes: ChangeFeed;
  loaders: Loaders;
  /** Console URLs point at this process's proxy. */
  consoles: ConsoleProxy;
}
