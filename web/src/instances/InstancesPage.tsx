import { useEffect, useState } from 'react';
import { useCan } from '../me.ts';
import { href } from '../route.ts';
import { addresses, age, type InstanceView } from './fields.ts';
import { useLiveInstances } from './live.ts';
import { RowActions } from './RowActions.tsx';

/** Every field a search matches, so one box finds an instance by name, status, host, address… */
const haystack = (i: InstanceView) =>
  [i.name, i.id, i.status, i.powerState, i.taskState, i.hostName, i.zone, i.flavor.name, ...addresses(i)].join(' ').toLowerCase();

/** The age column's clock: a tick every 30 s keeps ages right to the minute without a render a second. */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  return now;
}

export function InstancesPage() {
  const can = useCan();
  const mayAll = can('instance:list_all_projects');
  const [all, setAll] = useState(false);
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const { rows, error, loaded } = useLiveInstances(all);
  const now = useNow();
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = rows
    .filter((i) => (!status || i.status === status) && words.every((w) => haystack(i).includes(w)))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  const statuses = [...new Set(rows.map((i) => i.status))].sort();
  return (
    <section aria-labelledby="instances-title">
      <h1 id="instances-title">Instances</h1>
      <div className="filters">
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name, host, address…" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {statuses.map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>
        {mayAll && (
          <label className="check">
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> All projects
          </label>
        )}
        <span className="count" aria-live="polite">{loaded ? `${shown.length} of ${rows.length}` : 'Loading…'}</span>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="instances">
        <thead>
          <tr>
            <th scope="col">Name</th><th scope="col">Status</th><th scope="col">Power</th><th scope="col">Task</th>
            {can('host:list') && <th scope="col">Host</th>}
            <th scope="col">Zone</th><th scope="col">Flavor</th><th scope="col">Addresses</th><th scope="col">Age</th><th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((i) => (
            <tr key={i.id} data-instance={i.name}>
              <td><a href={href('instances', i.id)}>{i.name}</a></td>
              <td className="status" data-status={i.status}>{i.status}</td>
              <td>{i.powerState}</td>
              <td>{i.taskState ?? '—'}</td>
              {can('host:list') && <td>{i.hostName ?? '—'}</td>}
              <td>{i.zone ?? '—'}</td>
              <td>{i.flavor.name}</td>
              <td>{addresses(i).join(', ') || '—'}</td>
              <td>{age(i.createdAt, now)}</td>
              <td><RowActions instance={i} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
