import { OrreryClient } from '../client/graphql.ts';

export interface SubmitOptions {
  apiUrls: string[];
  /** One token per client: each client is a user of its own project, as tenants of a cloud are. */
  tokens: string[];
  count: number;
  /** createInstance calls per GraphQL request (aliased fields of one mutation document). */
  batch: number;
  flavor: string;
  image: string;
  onProgress?: (submitted: number) => void;
}

/** One mutation document creating `n` instances; each is its own createInstance with its own result. */
function bulkDocument(n: number): string {
  const vars = Array.from({ length: n }, (_, i) => `$i${i}: CreateInstanceInput!`).join(', ');
  const fields = Array.from(
    { length: n },
    (_, i) => `c${i}: createInstance(input: $i${i}) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }`,
  ).join('\n');
  return `mutation(${vars}) {\n${fields}\n}`;
}

/**
 * Submits `count` instances (returns their ids) through the public API: one concurrent caller per token, each sending
 * requests of `batch` createInstance calls, spread over the API replicas. Any refusal aborts.
 */
export async function submitInstances(o: SubmitOptions): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  const clients = o.tokens.map((t, c) => new OrreryClient(o.apiUrls[c % o.apiUrls.length]!, t));
  await Promise.all(
    clients.map(async (client) => {
      while (next < o.count) {
        const first = next;
        const n = Math.min(o.batch, o.count - first);
        next += n;
        const variables = Object.fromEntries(
          Array.from({ length: n }, (_, i) => [`i${i}`, { name: `bench-${first + i}`, flavor: o.flavor, image: o.image }]),
        );
        const d = await client.request<Record<string, { __typename: string; instance?: { id: string }; message?: string }>>(
          bulkDocument(n),
          variables,
        );
        for (let i = 0; i < n; i++) {
          const r = d[`c${i}`]!;
          if (r.__typename !== 'CreateInstanceSuccess') throw new Error(`createInstance refused: ${r.message ?? r.__typename}`);
          out.push(r.instance!.id);
        }
        o.onProgress?.(out.length);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return out;
}
