import { useState, type FormEvent } from 'react';
import { gql } from './api.ts';
import { WHOAMI, type Me } from './me.ts';
import { session } from './session.ts';

/** Paste an API token; it is checked with `whoami` before it is kept for the session. */
export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { whoami } = await gql<{ whoami: Me & { kind: string } }>(WHOAMI, {}, token.trim());
      if (whoami.kind !== 'user') throw new Error('this is not a user token');
      session.save(token.trim());
      onLogin(whoami);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main className="login">
      <h1>Orrery</h1>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input id="token" type="password" autoComplete="off" autoFocus value={token} onChange={(e) => setToken(e.target.value)} />
        <p className="hint">
          The admin's is in <code>.orrery/admin-token</code>; the <code>createToken</code> mutation makes others. It is kept in this tab only.
        </p>
        <button type="submit" disabled={!token.trim()}>Log in</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}
