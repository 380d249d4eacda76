import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OrreryClient } from '../../client/graphql.ts';
import { CliError } from './errors.ts';

const DEFAULT_API = 'http://127.0.0.1:8774';

/** Where `orrery server` writes the admin token on first start (same data folder rule as the server). */
const tokenFile = () => path.join(process.env.ORRERY_DATA_DIR || '.orrery', 'admin-token');

export interface Connection {
  api: string;
  token: string;
  client: OrreryClient;
}

/** Adds --api and --token to one client command (not to the program: `hostagent` has its own --api). */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--api <url>', `control plane URL (default: $ORRERY_API or ${DEFAULT_API})`)
    .option('--token <token>', 'API token (default: $ORRERY_TOKEN, else the file .orrery/admin-token)');
}

export function connect(o: { api?: string; token?: string }): Connection {
  const api = (o.api || process.env.ORRERY_API || DEFAULT_API).replace(/\/+$/, '');
  const token = o.token || process.env.ORRERY_TOKEN || readTokenFile();
  if (!token) {
    throw new CliError(`no API token: pass --token or set ORRERY_TOKEN (an admin can also run where ${tokenFile()} is)`);
  }
  return { api, token, client: new OrreryClient(api, token) };
}

function readTokenFile(): string | undefined {
  try {
    return readFileSync(tokenFile(), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
