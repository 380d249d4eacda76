import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { session } from '../session.ts';

const socketUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/**
 * GraphiQL from npm (bundled, no CDN), speaking to /graphql with the session's token: in the
 * headers editor for HTTP, in the connection parameters for subscriptions. Its tabs and history
 * go to sessionStorage, as the token does: its history keeps the headers a query ran with.
 */
export default function Explorer() {
  const authorization = `Bearer ${session.token() ?? ''}`;
  const fetcher = createGraphiQLFetcher({ url: '/graphql', subscriptionUrl: socketUrl(), wsConnectionParams: { authorization } });
  return (
    <div className="explorer">
      <GraphiQL fetcher={fetcher} defaultHeaders={JSON.stringify({ authorization }, null, 2)} shouldPersistHeaders={false} storage={sessionStorage}
        defaultQuery={'query {\n  whoami { userName roles }\n}\n'} />
    </div>
  );
}
