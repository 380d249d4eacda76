import { gql, unwrap } from '../api.ts';

/** A one-time console URL for the instance (createConsole): open it as a WebSocket. */
export async function consoleUrl(instance: string, type: 'VNC' | 'SERIAL'): Promise<string> {
  const d = await gql<{ createConsole: { __typename: string; message?: string; console?: { url: string } } }>(
    `mutation($i: ID!, $t: ConsoleType!) { createConsole(instance: $i, type: $t) { __typename
       ... on CreateConsoleSuccess { console { url } } ... on Error { message } } }`,
    { i: instance, t: type },
  );
  return unwrap(d.createConsole).console!.url;
}
