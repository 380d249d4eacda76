import postgres from 'postgres';

export type Sql = postgres.Sql<{}>;
export type TxSql = postgres.TransactionSql<{}>;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
  /** Called with each statement as it is sent (tests count statements with it). */
  debug?: (connection: number, query: string, parameters: unknown[], types: number[]) => void;
}

/** One pool per process. bigint columns (revisions, counts) come back as JS numbers: they stay below 2^53. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    debug: options.debug,
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
