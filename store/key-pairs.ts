import type { Sql, TxSql } from '../db/connect.ts';

export interface KeyPairRow {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  type: string;
  created_at: Date;
}

export async function findKeyPair(sql: Sql | TxSql, userId: string, name: string): Promise<KeyPairRow | undefined> {
  const [row] = await sql<KeyPairRow[]>`select * from key_pairs where user_id = ${userId} and name = ${name}`;
  return row;
}

export async function listKeyPairs(sql: Sql | TxSql, userId: string): Promise<KeyPairRow[]> {
  return sql<KeyPairRow[]>`select * from key_pairs where user_id = ${userId} order by name`;
}
