import { useState, type FormEvent } from 'react';
import { gql, unwrap } from '../api.ts';
import { useCan } from '../me.ts';
import type { HostView } from './HostsPage.tsx';

type Result = { __typename: string; message?: string };

/** Enable, disable (with a reason) and, for a down host, evacuate every instance on it. */
export function HostActions({ host, onChanged }: { host: HostView; onChanged: () => void }) {
  const can = useCan();
  const [reason, setReason] = useState('');
  const [asking, setAsking] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const update = async (input: Record<string, unknown>) => {
    setError(null);
    try {
      const d = await gql<{ updateHost: Result }>(
        'mutation($r: String!, $i: UpdateHostInput!) { updateHost(ref: $r, input: $i) { __typename ... on Error { message } } }',
        { r: host.id, i: input },
      );
      unwrap(d.updateHost);
      onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const disable = (e: FormEvent) => {
    e.preventDefault();
    setAsking(false);
    void update({ enabled: false, disabledReason: reason.trim() || null });
  };
  const evacuate = async () => {
    setError(null);
    try {
      const list = await gql<{ instances: { edges: { node: { id: string } }[] } }>(
        'query($h: String) { instances(allProjects: true, first: 500, filter: { host: $h }) { edges { node { id } } } }',
        { h: host.name },
      );
      const failed: string[] = [];
      for (const { node } of list.instances.edges) {
        const d = await gql<{ evacuateInstance: Result }>(
          'mutation($id: ID!) { evacuateInstance(id: $id) { __typename ... on Error { message } } }', { id: node.id });
        if (!d.evacuateInstance.__typename.endsWith('Success')) failed.push(d.evacuateInstance.message ?? d.evacuateInstance.__typename);
      }
      setNote(`evacuating ${list.instances.edges.length - failed.length} instance(s)`);
      if (failed.length) setError(failed.join('; '));
      onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  if (!can('host:update')) return null;
  return (
    <div className="actions">
      {host.enabled ? (
        asking ? (
          <form onSubmit={disable} className="ask">
            <label>
              Reason
              <input autoFocus value={reason} onChange={(e) => setReason(e.target.value)} />
            </label>
            <button type="submit">Disable {host.name}</button>
            <button type="button" onClick={() => setAsking(false)}>Cancel</button>
          </form>
        ) : (
          <button type="button" aria-label={`Disable ${host.name}`} onClick={() => setAsking(true)}>Disable</button>
        )
      ) : (
        <button type="button" aria-label={`Enable ${host.name}`} onClick={() => void update({ enabled: true })}>Enable</button>
      )}
      {can('instance:evacuate') && host.state === 'down' && host.instanceCount > 0 && (
        <button type="button" className="danger" onClick={() => void evacuate()}>Evacuate</button>
      )}
      {note && <p aria-live="polite">{note}</p>}
      {error && <p role="alert" className="error">{error}</p>}
    </div>
  );
}
