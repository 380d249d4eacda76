import type { OrreryClient } from '../../client/graphql.ts';
import { CliError } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An instance named by ID or, as `openstack server` allows, by a name unique in the caller's project. */
export async function instanceId(client: OrreryClient, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const d = await client.request<{ instances: { edges: { node: { id: string } }[] } }>(
    `query($name: String!) { instances(first: 2, filter: { name: $name }) { edges { node { id } } } }`,
    { name: ref },
  );
  const ids = d.instances.edges.map((e) => e.node.id);
  if (ids.length === 0) throw new CliError(`instance "${ref}" not found`);
  if (ids.length > 1) throw new CliError(`more than one instance is named "${ref}"; use its ID`);
  return ids[0]!;
}
