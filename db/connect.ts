import postgres from 'postgres';

export type Sql = postgres.Sql<{}>;
export type TxSql = postgres.TransactionSql<{}>;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
}

/** One pool per process. bigint columns (revisions, counts) come back as JS numbers: they stay below 2^53. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'orrery' },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  }) as unknown as Sql;
}
