import { randomBytes } from 'node:crypto';
import type { Sql, TxSql } from '../db/connect.ts';
import { ConsoleClose } from '../core/console-close.ts';
import { hashSecret } from './tokens.ts';

export type ConsoleKind = 'vnc' | 'serial';

export interface ConsoleTokenRow {
  id: string;
  instance_id: string;
  host_id: string;
  project_id: string;
  kind: ConsoleKind;
  expires_at: Date;
  used_at: Date | null;
  api_process: string | null;
  relay_url: string | null;
  host_connected_at: Date | null;
  ended_at: Date | null;
}

/** Why the proxy refuses a token or a dial-back: a close code and the reason it sends. */
export interface ConsoleRefusal {
  code: number;
  reason: string;
}

/** A session a host's agent must dial back for: its instance's console, and where to dial. */
export interface PendingConsoleSession {
  id: string;
  instanceId: string;
  kind: ConsoleKind;
  relayUrl: string | null;
}

/** Issues a one-time token for the instance's console on `hostId`; only its sha256 is stored. */
export async function issueConsoleToken(
  tx: TxSql,
  t: { instanceId: string; hostId: string; projectId: string; kind: ConsoleKind; userId: string; ttlSeconds: number },
): Promise<{ id: string; secret: string; expiresAt: Date }> {
  const secret = 'orr_c_' + randomBytes(32).toString('base64url');
  const [row] = await tx<{ id: string; expires_at: Date }[]>`
    insert into console_tokens (token_hash, instance_id, host_id, project_id, kind, created_by, expires_at)
    values (${hashSecret(secret)}, ${t.instanceId}, ${t.hostId}, ${t.projectId}, ${t.kind}, ${t.userId},
            now() + make_interval(secs => ${t.ttlSeconds}))
    returning id, expires_at`;
  return { id: row!.id, secret, expiresAt: row!.expires_at };
}

/**
 * Uses the token, once: one UPDATE that only an unused, unexpired token of the caller's project
 * (`projectId` null: any) whose instance is still on the token's host passes. Concurrent uses of
 * one token serialise on its row and the second finds it used. A refusal says why.
 */
export async function consumeConsoleToken(
  sql: Sql,
  c: { secret: string; projectId: string | null; apiProcess: string; relayUrl: string | null },
): Promise<ConsoleTokenRow | ConsoleRefusal> {
  const hash = hashSecret(c.secret);
  const [used] = await sql<ConsoleTokenRow[]>`
    update console_tokens t set used_at = now(), api_process = ${c.apiProcess}, relay_url = ${c.relayUrl}
      from instances i
     where t.token_hash = ${hash} and t.used_at is null and t.expires_at > now()
       and (${c.projectId}::uuid is null or t.project_id = ${c.projectId})
       and i.id = t.instance_id and i.host_id = t.host_id and i.delete_requested_at is null
    returning t.*`;
  if (used) return used;
  const [t] = await sql<(ConsoleTokenRow & { expired: boolean; instance_host_id: string | null; deleting: boolean })[]>`
    select t.*, t.expires_at <= now() as expired, i.host_id as instance_host_id, i.delete_requested_at is not null as deleting
      from console_tokens t join instances i on i.id = t.instance_id
     where t.token_hash = ${hash}`;
  if (!t) return { code: ConsoleClose.unknown, reason: 'unknown console token' };
  if (c.projectId !== null && t.project_id !== c.projectId) {
    return { code: ConsoleClose.forbidden, reason: 'the console token belongs to another project' };
  }
  if (t.used_at) return { code: ConsoleClose.gone, reason: 'the console token was already used' };
  if (t.expired) return { code: ConsoleClose.gone, reason: 'the console token has expired' };
  if (t.deleting) return { code: ConsoleClose.moved, reason: 'the instance is being deleted' };
  return { code: ConsoleClose.moved, reason: 'the instance moved to another host since the token was issued; ask for a new console' };
}

/**
 * Pairs a host's dial-back with its session: only the host the token was issued for, only once,
 * only in the API process holding the client's socket.
 */
export async function connectConsoleHost(
  sql: Sql,
  c: { sessionId: string; hostId: string; apiProcess: string },
): Promise<ConsoleTokenRow | ConsoleRefusal> {
  const [row] = await sql<ConsoleTokenRow[]>`
    update console_tokens set host_connected_at = now()
     where id = ${c.sessionId} and host_id = ${c.hostId} and api_process = ${c.apiProcess}
       and used_at is not null and host_connected_at is null and ended_at is null
    returning *`;
  if (row) return row;
  const [t] = await sql<ConsoleTokenRow[]>`select * from console_tokens where id = ${c.sessionId}`;
  if (!t || !t.used_at) return { code: ConsoleClose.unknown, reason: 'no console session waits with that id' };
  if (t.host_id !== c.hostId) return { code: ConsoleClose.forbidden, reason: 'the console session belongs to another host' };
  if (t.host_connected_at || t.ended_at) return { code: ConsoleClose.gone, reason: 'the console session is already connected or over' };
  return { code: ConsoleClose.otherProcess, reason: 'the console session waits in another API process; dial its relay URL' };
}

/** Marks a session over (once); its row goes at the next clean-up. */
export async function endConsoleSession(sql: Sql, id: string, reason: string): Promise<void> {
  await sql`update console_tokens set ended_at = now(), end_reason = ${reason} where id = ${id} and ended_at is null`;
}

/**
 * The sessions waiting for each of these hosts to dial back, recent enough (`dialSeconds`) that
 * their client still waits: one statement for many hosts (server/console-session-reads.ts).
 */
export async function pendingConsoleSessions(sql: Sql, hostIds: string[], dialSeconds: number): Promise<Map<string, PendingConsoleSession[]>> {
  const rows = await sql<(PendingConsoleSession & { hostId: string })[]>`
    select host_id as "hostId", id, instance_id as "instanceId", kind, relay_url as "relayUrl" from console_tokens
     where host_id = any(${hostIds}::uuid[]) and used_at is not null and host_connected_at is null and ended_at is null
       and used_at > now() - make_interval(secs => ${dialSeconds})
     order by used_at, id`;
  const byHost = new Map<string, PendingConsoleSession[]>(hostIds.map((h) => [h, []]));
  for (const { hostId, ...session } of rows) byHost.get(hostId)!.push(session);
  return byHost;
}

/**
 * Drops tokens nobody can use any more: unused ones past their expiry, sessions over for a
 * minute, and sessions used a day ago whatever became of them (an API process that died).
 */
export async function cleanUpConsoleTokens(sql: Sql | TxSql): Promise<number> {
  const gone = await sql`
    delete from console_tokens
     where (used_at is null and expires_at < now())
        or ended_at < now() - interval '1 minute'
        or used_at < now() - interval '1 day'`;
  return gone.count;
}
