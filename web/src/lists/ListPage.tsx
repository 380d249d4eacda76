import { useCan } from '../me.ts';
import { useQuery } from '../useQuery.ts';
import type { ListDef } from './lists.ts';

export function ListPage({ list }: { list: ListDef }) {
  const can = useCan();
  const { data, error, reload } = useQuery<unknown>(list.query);
  const id = `${list.path}-title`;
  const Form = list.form && can(list.form.rule) ? list.form.component : null;
  return (
    <section aria-labelledby={id}>
      <h1 id={id}>{list.title}</h1>
      {Form && <Form onDone={reload} />}
      <button type="button" onClick={reload}>Refresh</button>
      {error && <p role="alert" className="error">{error}</p>}
      {data !== null && (
        <table>
          <thead><tr>{list.columns.map(([h]) => <th key={h} scope="col">{h}</th>)}</tr></thead>
          <tbody>
            {list.rows(data).map((row, n) => (
              <tr key={n}>{list.columns.map(([h, cell]) => <td key={h}>{cell(row)}</td>)}</tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
