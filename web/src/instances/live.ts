import { useEffect, useState } from 'react';
import { gql, subscribe } from '../api.ts';
import { INSTANCE_FIELDS, type InstanceView } from './fields.ts';

const EVENTS = `subscription($f: InstanceEventFilter) { instanceEvents(filter: $f) { type instanceId instance { ${INSTANCE_FIELDS} } } }`;
const LIST = `query($all: Boolean, $after: String) { instances(allProjects: $all, first: 500, after: $after) {
  edges { node { ${INSTANCE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

interface Page {
  instances: { edges: { node: InstanceView }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}
interface Event {
  instanceEvents: { type: 'SNAPSHOT' | 'UPDATED' | 'DELETED'; instanceId: string; instance: InstanceView | null };
}

async function readAll(all: boolean): Promise<InstanceView[]> {
  const out: InstanceView[] = [];
  for (let after: string | null = null; ; ) {
    const page: Page = await gql<Page>(LIST, { all, after });
    out.push(...page.instances.edges.map((e) => e.node));
    if (!page.instances.pageInfo.hasNextPage) return out;
    after = page.instances.pageInfo.endCursor;
  }
}

/** Newer wins: a read that raced an event must not put back an older state. */
const newer = (a: InstanceView | undefined, b: InstanceView) => !a || BigInt(b.revision) >= BigInt(a.revision);

/**
 * The instances the caller sees (every project's when `all`), kept current by `instanceEvents`:
 * subscribe first, then read the list, so no change falls between the two. No polling.
 */
export function useLiveInstances(all: boolean) {
  const [rows, setRows] = useState<Map<string, InstanceView>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    let live = true;
    // Events that arrive while a read runs are replayed over its answer, which may predate them.
    let during: Event['instanceEvents'][] | null = null;
    const apply = (map: Map<string, InstanceView>, e: Event['instanceEvents']) => {
      if (e.type === 'DELETED' || !e.instance) map.delete(e.instanceId);
      else if (newer(map.get(e.instanceId), e.instance)) map.set(e.instanceId, e.instance);
    };
    const onEvent = ({ instanceEvents: e }: Event) => {
      during?.push(e);
      setRows((old) => {
        const next = new Map(old);
        apply(next, e);
        return next;
      });
    };
    const reread = () => {
      const seen: Event['instanceEvents'][] = (during = []);
      readAll(all).then(
        (list) => {
          if (!live) return;
          const next = new Map(list.map((i) => [i.id, i]));
          for (const e of seen) apply(next, e);
          if (during === seen) during = null;
          setRows(next);
          setLoaded(true);
        },
        (e: Error) => live && setError(e.message),
      );
    };
    const stop = subscribe<Event>(EVENTS, { f: all ? { allProjects: true } : null }, onEvent, setError, reread);
    return () => {
      live = false;
      stop();
    };
  }, [all]);
  return { rows: [...rows.values()], error, loaded };
}
