import { useCallback, useEffect, useState } from 'react';
import { gql } from './api.ts';

/** A query read on mount and again on `reload()` (after a change the page itself made). */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(variables);
  const reload = useCallback(() => {
    gql<T>(query, JSON.parse(key) as Record<string, unknown>).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, [query, key]);
  useEffect(reload, [reload]);
  return { data, error, reload };
}
