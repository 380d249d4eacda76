import { OrreryClient } from '../client/graphql.ts';

export interface SubmitOptions {
  apiUrls: string[];
  /** One token per client: each client is a user of its own project, as tenants of a cloud are. */
  tokens: string[];
  count: number;
  /** Instances per createInstances request (one transaction, one quota check). */
  batch: number;
  flavor: string;
  image: string;
  /** Instances per second in all (0: flat out): request k waits for its slot, batch × k / rate after the start. */
  ratePerSecond: number;
  onProgress?: (submitted: number) => void;
}

const CREATE = `mutation($inputs: [CreateInstanceInput!]!) { createInstances(inputs: $inputs) { __typename
  ... on CreateInstancesSuccess { instances { id } } ... on Error { message } } }`;

/**
 * Submits `count` instances (returns their ids) through the public API: one concurrent caller per token, each sending
 * createInstances requests of `batch` instances, spread over the API replicas. Any refusal aborts.
 */
export async function submitInstances(o: SubmitOptions): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  const clients = o.tokens.map((t, c) => new OrreryClient(o.apiUrls[c % o.apiUrls.length]!, t));
  const started = Date.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < o.count) {
        const first = next;
        const n = Math.min(o.batch, o.count - first);
        next += n;
        const slot = o.ratePerSecond > 0 ? started + (first * 1000) / o.ratePerSecond - Date.now() : 0;
        if (slot > 0) await new Promise((r) => setTimeout(r, slot));
        const inputs = Array.from({ length: n }, (_, i) => ({ name: `bench-${first + i}`, flavor: o.flavor, image: o.image }));
        const d = await client.request<{ createInstances: { __typename: string; instances?: { id: string }[]; message?: string } }>(
          CREATE,
          { inputs },
        );
        const r = d.createInstances;
        if (r.__typename !== 'CreateInstancesSuccess') throw new Error(`createInstances refused: ${r.message ?? r.__typename}`);
        out.push(...r.instances!.map((i) => i.id));
        o.onProgress?.(out.length);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return out;
}
