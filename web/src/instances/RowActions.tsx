import { useState, type FormEvent } from 'react';
import { useCan } from '../me.ts';
import { actionsFor, type InstanceAction } from './actions.ts';
import type { InstanceView } from './fields.ts';

/**
 * The actions the caller may take on one instance. While a request is in flight its button says
 * so; after that the row's task state (pushed live) shows the progress, and a refusal shows here.
 */
export function RowActions({ instance }: { instance: InstanceView }) {
  const can = useCan();
  const [asking, setAsking] = useState<InstanceAction | null>(null);
  const [arg, setArg] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (a: InstanceAction, value: string) => {
    setAsking(null);
    setBusy(a.key);
    setError(null);
    try {
      await a.run(instance, value);
    } catch (e) {
      setError(`${a.label}: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };
  const choose = (a: InstanceAction) => {
    if (a.arg || a.confirm) {
      setArg('');
      setAsking(a);
    } else void run(a, '');
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (asking) void run(asking, arg.trim());
  };
  const actions = actionsFor(instance, can);
  const label = instance.name;
  return (
    <div className="actions">
      {asking ? (
        <form onSubmit={submit} className="ask">
          {asking.arg && (
            <label>
              {asking.arg.label}
              <input autoFocus required value={arg} onChange={(e) => setArg(e.target.value)} />
            </label>
          )}
          <button type="submit" className={asking.confirm ? 'danger' : undefined} autoFocus={!asking.arg}>
            {asking.confirm ? `Really ${asking.label.toLowerCase()} ${label}` : asking.label}
          </button>
          <button type="button" onClick={() => setAsking(null)}>Cancel</button>
        </form>
      ) : (
        actions.map((a) => (
          <button key={a.key} type="button" disabled={busy !== null} aria-label={`${a.label} ${label}`} onClick={() => choose(a)}
            className={a.confirm ? 'danger' : undefined}>
            {busy === a.key ? `${a.label}…` : a.label}
          </button>
        ))
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </div>
  );
}
