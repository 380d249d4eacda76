import { useEffect, useState } from 'react';
import { gql, subscribe } from '../api.ts';
import { useCan } from '../me.ts';
import { href } from '../route.ts';
import { INSTANCE_FIELDS, addresses, type InstanceView } from './fields.ts';
import { RowActions } from './RowActions.tsx';
import { SerialConsole } from './SerialConsole.tsx';
import { VncConsole } from './VncConsole.tsx';

interface ActionEvent { event: string; result: string; host: string | null; details: string | null; startedAt: string; finishedAt: string | null }
interface Action { id: string; action: string; state: string; requestId: string; message: string | null; startedAt: string; finishedAt: string | null; events: ActionEvent[] }
type Detail = InstanceView & { vmState: string; fault: { code: string; message: string; details: string | null; time: string } | null; actions: Action[] };

const DETAIL = `${INSTANCE_FIELDS} fault { code message details time }
  actions { id action state requestId message startedAt finishedAt events { event result host details startedAt finishedAt } }`;
const WATCH = `subscription($id: ID!) { instanceUpdated(id: $id) { type instance { ${DETAIL} } } }`;

/** One instance, live (instanceUpdated): its state, fault, action log with events, and consoles. */
export function InstancePage({ id }: { id: string }) {
  const can = useCan();
  const [instance, setInstance] = useState<Detail | null>(null);
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(
    () =>
      subscribe<{ instanceUpdated: { type: string; instance: Detail | null } }>(WATCH, { id }, ({ instanceUpdated: e }) => {
        if (e.instance) setInstance(e.instance);
        else setGone(true);
      }, setError),
    [id],
  );
  if (error) return <p role="alert" className="error">{error}</p>;
  if (gone) return <p role="alert">This instance is gone. <a href={href('instances')}>Back to instances</a></p>;
  if (!instance) return <p className="loading">Loading…</p>;
  return (
    <article aria-labelledby="instance-title">
      <p><a href={href('instances')}>← Instances</a></p>
      <h1 id="instance-title">{instance.name}</h1>
      <dl className="facts">
        <dt>Status</dt><dd data-status={instance.status}>{instance.status}</dd>
        <dt>VM state</dt><dd>{instance.vmState}</dd>
        <dt>Power</dt><dd>{instance.powerState}</dd>
        <dt>Task</dt><dd>{instance.taskState ?? '—'}</dd>
        {can('host:list') && <><dt>Host</dt><dd>{instance.hostName ?? '—'}</dd></>}
        <dt>Zone</dt><dd>{instance.zone ?? '—'}</dd>
        <dt>Flavor</dt><dd>{instance.flavor.name}</dd>
        <dt>Addresses</dt><dd>{addresses(instance).join(', ') || '—'}</dd>
        <dt>ID</dt><dd><code>{instance.id}</code></dd>
      </dl>
      <RowActions instance={instance} />
      {instance.fault && (
        <section aria-labelledby="fault-title" className="fault">
          <h2 id="fault-title">Fault</h2>
          <p><strong>{instance.fault.code}</strong> {instance.fault.message} <small>({instance.fault.time})</small></p>
          {instance.fault.details && <pre>{instance.fault.details}</pre>}
        </section>
      )}
      <ActionLog actions={instance.actions} />
      {can('instance:console_output') && <ConsoleOutput id={id} />}
      {can('instance:create_console') && instance.status === 'ACTIVE' && (
        <>
          <VncConsole instanceId={id} />
          <SerialConsole instanceId={id} />
        </>
      )}
    </article>
  );
}

function ActionLog({ actions }: { actions: Action[] }) {
  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Action log</h2>
      <table>
        <thead><tr><th scope="col">Action</th><th scope="col">State</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Events</th><th scope="col">Request</th></tr></thead>
        <tbody>
          {actions.map((a) => (
            <tr key={a.id}>
              <td>{a.action}</td>
              <td>{a.state}{a.message && <div className="error">{a.message}</div>}</td>
              <td>{new Date(a.startedAt).toLocaleString()}</td>
              <td>{a.finishedAt ? new Date(a.finishedAt).toLocaleString() : '—'}</td>
              <td>
                <ul className="events">
                  {a.events.map((e, n) => (
                    <li key={n}>{e.event}: {e.result}{e.host && ` on ${e.host}`}{e.details && ` — ${e.details}`}</li>
                  ))}
                </ul>
              </td>
              <td><code>{a.requestId}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ConsoleOutput({ id }: { id: string }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const read = () =>
    gql<{ consoleOutput: { output: string } | null }>('query($id: ID!) { consoleOutput(instanceId: $id, lines: 200) { output } }', { id }).then(
      (d) => setText(d.consoleOutput?.output ?? '(nothing yet)'),
      (e: Error) => setError(e.message),
    );
  return (
    <section aria-labelledby="output-title">
      <h2 id="output-title">Console output</h2>
      <button type="button" onClick={() => void read()}>{text === null ? 'Show console output' : 'Read again'}</button>
      {error && <p role="alert" className="error">{error}</p>}
      {text !== null && <pre className="serial">{text}</pre>}
    </section>
  );
}
