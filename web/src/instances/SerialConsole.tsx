import { useEffect, useRef, useState, type FormEvent } from 'react';
import { consoleUrl } from './createConsole.ts';

/** The guest's serial port: what it prints, and a line to type into it. */
export function SerialConsole({ instanceId }: { instanceId: string }) {
  const socket = useRef<WebSocket | null>(null);
  const [open, setOpen] = useState(false);
  const [output, setOutput] = useState('');
  const [line, setLine] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => () => socket.current?.close(), []);
  const connect = async () => {
    setError(null);
    try {
      const ws = new WebSocket(await consoleUrl(instanceId, 'SERIAL'));
      ws.binaryType = 'arraybuffer';
      const decoder = new TextDecoder();
      ws.onopen = () => setOpen(true);
      ws.onmessage = (m) => setOutput((o) => (o + decoder.decode(m.data as ArrayBuffer, { stream: true })).slice(-20_000));
      ws.onclose = (e) => {
        setOpen(false);
        if (e.code !== 1000) setError(`the serial console closed: ${e.reason || e.code}`);
      };
      socket.current = ws;
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const send = (e: FormEvent) => {
    e.preventDefault();
    socket.current?.send(new TextEncoder().encode(`${line}\n`));
    setLine('');
  };
  return (
    <section aria-labelledby="serial-title" className="console">
      <h2 id="serial-title">Serial console</h2>
      {open ? (
        <button type="button" onClick={() => socket.current?.close(1000)}>Close serial console</button>
      ) : (
        <button type="button" onClick={() => void connect()}>Open serial console</button>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {(open || output) && <pre className="serial" aria-label="Serial output" aria-live="polite">{output}</pre>}
      {open && (
        <form onSubmit={send} className="serial-input">
          <label>
            Type a line
            <input value={line} onChange={(e) => setLine(e.target.value)} />
          </label>
          <button type="submit">Send</button>
        </form>
      )}
    </section>
  );
}
