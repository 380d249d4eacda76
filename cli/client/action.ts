import type { Command } from 'commander';
import { GraphqlRequestError } from '../../client/graphql.ts';
import { connect, type Connection } from './connection.ts';
import { CliError } from './errors.ts';

/**
 * Wraps a command's action: connects with its --api/--token, and turns expected failures into
 * `error: …` on stderr and exit code 1. Anything else is a bug and keeps its stack.
 */
export function clientAction<A extends unknown[]>(fn: (conn: Connection, ...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    const cmd = args.at(-1) as Command;
    let conn: Connection | undefined;
    try {
      conn = connect(cmd.opts());
      await fn(conn, ...args);
    } catch (e) {
      const lines = explain(e, conn?.api);
      if (!lines) throw e;
      process.stderr.write(lines.join('\n') + '\n');
      process.exitCode = 1;
    } finally {
      await conn?.client.close();
    }
  };
}

function explain(e: unknown, api: string | undefined): string[] | undefined {
  if (e instanceof CliError) return [`error: ${e.message}`, ...e.details.map((d) => `  ${d}`)];
  if (e instanceof GraphqlRequestError) {
    if (e.code === 'UNAUTHENTICATED' || e.status === 401) {
      return ['error: the API refused the token (UNAUTHENTICATED); set ORRERY_TOKEN or pass --token'];
    }
    return [`error: ${e.message}${e.code ? ` (${e.code})` : ''}`];
  }
  // fetch() reports an unreachable server as TypeError('fetch failed') with the socket error as cause.
  if (e instanceof TypeError && e.cause instanceof Error) {
    const cause = (e.cause as NodeJS.ErrnoException).code ?? e.cause.message;
    return [`error: cannot reach the API at ${api} (${cause}); is the control plane running? set --api or ORRERY_API`];
  }
  return undefined;
}
