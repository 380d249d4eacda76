import { lazy, Suspense, useEffect, useState } from 'react';
import { closeSocket, gql } from './api.ts';
import { HostsPage } from './hosts/HostsPage.tsx';
import { InstancePage } from './instances/InstancePage.tsx';
import { InstancesPage } from './instances/InstancesPage.tsx';
import { ListPage } from './lists/ListPage.tsx';
import { LISTS } from './lists/lists.ts';
import { Login } from './Login.tsx';
import { MeContext, WHOAMI, type Me } from './me.ts';
import { ExplainPlacement } from './placement/ExplainPlacement.tsx';
import { href, useRoute } from './route.ts';
import { session } from './session.ts';

// GraphiQL is most of the bundle's weight: loaded only when its page opens.
const Explorer = lazy(() => import('./explorer/Explorer.tsx'));

interface NavItem {
  path: string;
  label: string;
  rule: string;
}

const NAV: NavItem[] = [
  { path: 'instances', label: 'Instances', rule: 'instance:list' },
  { path: 'hosts', label: 'Hosts', rule: 'host:list' },
  ...LISTS.map((l) => ({ path: l.path, label: l.title, rule: l.rule })),
  { path: 'placement', label: 'Explain placement', rule: 'scheduler:explain' },
  { path: 'explorer', label: 'GraphQL explorer', rule: 'whoami' },
];

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(session.token() !== null);
  useEffect(() => {
    if (!session.token()) return;
    gql<{ whoami: Me }>(WHOAMI)
      .then((d) => setMe(d.whoami), () => session.clear())
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p className="loading">Loading…</p>;
  if (!me) return <Login onLogin={setMe} />;
  const logOut = () => {
    session.clear();
    closeSocket();
    setMe(null);
  };
  return (
    <MeContext.Provider value={me}>
      <Shell me={me} onLogOut={logOut} />
    </MeContext.Provider>
  );
}

function Shell({ me, onLogOut }: { me: Me; onLogOut: () => void }) {
  const [page = 'instances', ...rest] = useRoute();
  const nav = NAV.filter((n) => me.allowed.includes(n.rule));
  return (
    <div className="shell">
      <a className="skip" href="#content" onClick={(e) => {
        // The hash holds the route, so the jump to the content is done here instead.
        e.preventDefault();
        document.getElementById('content')?.focus();
      }}>
        Skip to content
      </a>
      <header>
        <span className="brand">Orrery</span>
        <nav aria-label="Pages">
          {nav.map((n) => (
            <a key={n.path} href={href(n.path)} aria-current={n.path === page ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span className="who">
          {me.userName} ({me.roles.join(', ')})
          <button type="button" onClick={onLogOut}>Log out</button>
        </span>
      </header>
      <main id="content" tabIndex={-1}>
        {!nav.some((n) => n.path === page) ? (
          <p role="alert">There is no page “{page}” for you here.</p>
        ) : (
          <Page page={page} rest={rest} />
        )}
      </main>
    </div>
  );
}

function Page({ page, rest }: { page: string; rest: string[] }) {
  if (page === 'instances') return rest[0] ? <InstancePage id={rest[0]} /> : <InstancesPage />;
  if (page === 'hosts') return <HostsPage />;
  if (page === 'placement') return <ExplainPlacement />;
  if (page === 'explorer') {
    return (
      <Suspense fallback={<p className="loading">Loading the explorer…</p>}>
        <Explorer />
      </Suspense>
    );
  }
  const list = LISTS.find((l) => l.path === page);
  return list ? <ListPage key={list.path} list={list} /> : null;
}
