import path from 'node:path';

/** Deployment settings, read once from the environment; every one has a working default. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  policyFile: string | undefined;
  serviceDownSeconds: number;
  /**
   * How often an API process renews, in one statement, the leases of the hosts whose agents'
   * sockets to it showed traffic since its last renewal (agents ping at their --heartbeat).
   */
  leaseRenewSeconds: number;
  spawnTimeoutSeconds: number;
  deleteTimeoutSeconds: number;
  maxScheduleAttempts: number;
  sweepIntervalSeconds: number;
  /** How long work may sit without progress before the sweep enqueues its instance again (a lost job). */
  sweepStaleSeconds: number;
  workerConcurrency: number;
  /** Nova's resize_confirm_window: VERIFY_RESIZE confirmed by itself after this many seconds; 0 = never. */
  resizeConfirmWindowSeconds: number;
  /** Nova's allow_resize_to_same_host: a resize (never a cold migration) may stay on its host, in place. */
  allowResizeToSameHost: boolean;
  /** ORRERY_DEV: error bodies carry stack traces and the original messages (never in production). */
  dev: boolean;
  /** Mutations one user (or enrollment token) may send per second, after `mutationBurst` at once; 0: unlimited. */
  mutationsPerSecond: number;
  mutationBurst: number;
  /** Subscriptions one user (or enrollment token) may hold open on one API replica; 0: unlimited. */
  subscriptionsPerUser: number;
  /** What one GraphQL operation may ask for, checked before anything runs (HTTP and WebSocket alike). */
  queryLimits: QueryLimits;
  /** How long a console token stays usable (Nova's consoleauth token_ttl). */
  consoleTokenTtlSeconds: number;
  /** How long a client's console waits for its host's agent to dial back. */
  consoleHostDialSeconds: number;
  /** Where clients open consoles (Nova's novncproxy_base_url); unset: this API's own address. */
  consoleBaseUrl: string | undefined;
  /** Where agents reach this API process to dial a console back; unset: each agent's own API address. */
  consoleRelayUrl: string | undefined;
  /**
   * A port of its own for /livez, /readyz and /metrics (a worker has no other; the API then no
   * longer serves /metrics on its public port). Unset: the API serves them on its port, a worker none.
   */
  metricsPort: number | undefined;
  /** The address that port listens on: keep it off public interfaces. */
  metricsListen: string;
}

export interface QueryLimits {
  /** Estimated fields resolved: lists and connections count by their page size (see server/query-cost.ts). */
  maxCost: number;
  /** Nesting of selections, fragments flattened, introspection included. */
  maxDepth: number;
  /** Aliased fields, counted once per place a fragment is spread. */
  maxAliases: number;
  /** Lexical tokens of the document: bounds the parse of anything sent. */
  maxTokens: number;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

function bool(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: num('ORRERY_PORT', 8774),
    host: process.env.ORRERY_LISTEN ?? '127.0.0.1',
    dataDir: path.resolve(process.env.ORRERY_DATA_DIR ?? '.orrery'),
    databaseUrl: process.env.DATABASE_URL || undefined,
    policyFile: process.env.ORRERY_POLICY_FILE || undefined,
    serviceDownSeconds: num('ORRERY_SERVICE_DOWN_SECONDS', 60),
    leaseRenewSeconds: num('ORRERY_LEASE_RENEW_SECONDS', 10),
    spawnTimeoutSeconds: num('ORRERY_SPAWN_TIMEOUT_SECONDS', 600),
    deleteTimeoutSeconds: num('ORRERY_DELETE_TIMEOUT_SECONDS', 300),
    maxScheduleAttempts: num('ORRERY_MAX_SCHEDULE_ATTEMPTS', 3),
    sweepIntervalSeconds: num('ORRERY_SWEEP_INTERVAL_SECONDS', 15),
    sweepStaleSeconds: num('ORRERY_SWEEP_STALE_SECONDS', 60),
    workerConcurrency: num('ORRERY_WORKER_CONCURRENCY', 10),
    resizeConfirmWindowSeconds: num('ORRERY_RESIZE_CONFIRM_WINDOW_SECONDS', 0),
    allowResizeToSameHost: bool('ORRERY_ALLOW_RESIZE_TO_SAME_HOST', false),
    dev: bool('ORRERY_DEV', false),
    mutationsPerSecond: num('ORRERY_MUTATIONS_PER_SECOND', 100),
    mutationBurst: num('ORRERY_MUTATION_BURST', 1000),
    subscriptionsPerUser: num('ORRERY_SUBSCRIPTIONS_PER_USER', 100),
    queryLimits: {
      maxCost: num('ORRERY_QUERY_MAX_COST', 100_000),
      maxDepth: num('ORRERY_QUERY_MAX_DEPTH', 20),
      maxAliases: num('ORRERY_QUERY_MAX_ALIASES', 50),
      maxTokens: num('ORRERY_QUERY_MAX_TOKENS', 20_000),
    },
    consoleTokenTtlSeconds: num('ORRERY_CONSOLE_TOKEN_TTL_SECONDS', 600),
    consoleHostDialSeconds: num('ORRERY_CONSOLE_HOST_DIAL_SECONDS', 20),
    consoleBaseUrl: process.env.ORRERY_CONSOLE_BASE_URL || undefined,
    consoleRelayUrl: process.env.ORRERY_CONSOLE_RELAY_URL || undefined,
    metricsPort: process.env.ORRERY_METRICS_PORT ? num('ORRERY_METRICS_PORT', 0) : undefined,
    metricsListen: process.env.ORRERY_METRICS_LISTEN ?? '127.0.0.1',
    ...overrides,
  };
}
