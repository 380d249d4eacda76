import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { consoleUrl } from './createConsole.ts';

type State = 'closed' | 'connecting' | 'connected' | 'disconnected';

/** The instance's screen in the page: noVNC on a one-time URL through the console proxy. */
export function VncConsole({ instanceId }: { instanceId: string }) {
  const screen = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const [state, setState] = useState<State>('closed');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => () => rfb.current?.disconnect(), []);
  const open = async () => {
    setError(null);
    setState('connecting');
    try {
      const url = await consoleUrl(instanceId, 'VNC');
      const r = new RFB(screen.current!, url, { wsProtocols: ['binary'] });
      r.scaleViewport = true;
      r.addEventListener('connect', () => setState('connected'));
      r.addEventListener('disconnect', (e) => {
        const clean = (e as CustomEvent<{ clean: boolean }>).detail.clean;
        if (!clean) setError('the console connection was lost');
        setState('disconnected');
        rfb.current = null;
      });
      rfb.current = r;
    } catch (e) {
      setError((e as Error).message);
      setState('closed');
    }
  };
  const live = state === 'connecting' || state === 'connected';
  return (
    <section aria-labelledby="vnc-title" className="console">
      <h2 id="vnc-title">VNC console</h2>
      <div className="console-bar">
        {live ? (
          <>
            <button type="button" onClick={() => rfb.current?.sendCtrlAltDel()} disabled={state !== 'connected'}>Send Ctrl-Alt-Del</button>
            <button type="button" onClick={() => rfb.current?.disconnect()}>Close console</button>
          </>
        ) : (
          <button type="button" onClick={() => void open()}>Open VNC console</button>
        )}
        <span className="console-state" data-state={state} aria-live="polite">{state}</span>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <div ref={screen} className="vnc-screen" aria-label="VNC screen" data-testid="vnc-screen" hidden={!live} />
    </section>
  );
}
