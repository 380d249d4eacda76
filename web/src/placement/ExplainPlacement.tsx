import { useState, type FormEvent } from 'react';
import { gql } from '../api.ts';

interface Verdict { host: string; passed: boolean; filter: string | null; reason: string | null; weight: number | null; rank: number | null }
interface Explanation { summary: string; filters: string[]; hosts: Verdict[] }

const EXPLAIN = `query($i: ExplainPlacementInput!) { explainPlacement(input: $i) { summary filters hosts { host passed filter reason weight rank } } }`;

/** For a would-be instance: which filter removed which host, or each host's weight and rank. */
export function ExplainPlacement() {
  const [form, setForm] = useState({ flavor: '', image: '', zone: '', project: '' });
  const [answer, setAnswer] = useState<Explanation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const field = (name: keyof typeof form, label: string, required = false) => (
    <label>
      {label}
      <input required={required} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
    </label>
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const input = { flavor: form.flavor, image: form.image, zone: form.zone || null, project: form.project || null };
    try {
      setAnswer((await gql<{ explainPlacement: Explanation }>(EXPLAIN, { i: input })).explainPlacement);
    } catch (err) {
      setAnswer(null);
      setError((err as Error).message);
    }
  };
  const hosts = answer ? [...answer.hosts].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.host.localeCompare(b.host)) : [];
  return (
    <section aria-labelledby="explain-title">
      <h1 id="explain-title">Explain placement</h1>
      <form onSubmit={submit} className="filters">
        {field('flavor', 'Flavor', true)}
        {field('image', 'Image', true)}
        {field('zone', 'Zone')}
        {field('project', 'Project')}
        <button type="submit">Explain</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {answer && (
        <>
          <p aria-live="polite"><strong>{answer.summary}</strong></p>
          <p>Filters, in order: {answer.filters.join(' → ')}</p>
          <table>
            <thead><tr><th scope="col">Host</th><th scope="col">Verdict</th><th scope="col">Removed by</th><th scope="col">Why</th><th scope="col">Weight</th><th scope="col">Rank</th></tr></thead>
            <tbody>
              {hosts.map((h) => (
                <tr key={h.host}>
                  <th scope="row">{h.host}</th>
                  <td className="status" data-status={h.passed ? 'up' : 'down'}>{h.passed ? 'passes' : 'removed'}</td>
                  <td>{h.filter ?? '—'}</td>
                  <td>{h.reason ?? '—'}</td>
                  <td>{h.weight?.toFixed(3) ?? '—'}</td>
                  <td>{h.rank ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
