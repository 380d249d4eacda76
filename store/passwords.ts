import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Sql, TxSql } from '../db/connect.ts';

// OWASP's scrypt floor (N=2^17, r=8, p=1): about 128 MiB and 0.3 s per hash, which is the point.
const COST = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...o, maxmem: 256 * o.N * o.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (e, key) => (e ? reject(e) : resolve(key))));
}

/** `scrypt$N$r$p$salt$key` (base64url): the record carries its own parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, record: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = record.split('$');
  if (kind !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export async function setPassword(sql: Sql | TxSql, userId: string, password: string): Promise<void> {
  await sql`update users set password_hash = ${await hashPassword(password)} where id = ${userId}`;
}

/** The user whose name and password match, or null; an unknown name costs a hash too. */
export async function checkPassword(sql: Sql, name: string, password: string): Promise<{ id: string; name: string } | null> {
  const [row] = await sql<{ id: string; name: string; password_hash: string | null }[]>`
    select id, name, password_hash from users where name = ${name}`;
  if (!row?.password_hash) {
    await hashPassword(password);
    return null;
  }
  return (await verifyPassword(password, row.password_hash)) ? { id: row.id, name: row.name } : null;
}
