import type { Sql } from '../../db/connect.ts';
import type { OrreryClient } from '../../client/graphql.ts';

/** An active public image row, as if uploaded (the upload path has its own tests). */
export async function seedImage(sql: Sql, ownerProjectId: string, name = 'test-image'): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into images (name, owner_project_id, visibility, disk_format, status, checksum, size_bytes)
    values (${name}, ${ownerProjectId}, 'public', 'qcow2', 'active', ${'0'.repeat(64)}, 0) returning id`;
  return row!.id;
}

export async function createFlavor(admin: OrreryClient, name: string, vcpus: number, ramMb: number, diskGb: number) {
  const d = await admin.request(
    `mutation($i: FlavorInput!) { createFlavor(input: $i) { __typename ... on CreateFlavorSuccess { flavor { id } } ... on Error { message } } }`,
    { i: { name, vcpus, ramMb, diskGb } },
  );
  if (d.createFlavor.__typename !== 'CreateFlavorSuccess') throw new Error(d.createFlavor.message);
  return d.createFlavor.flavor.id as string;
}

const INSTANCE_RESULT = `__typename
  ... on CreateInstanceSuccess { instance { id name status } }
  ... on ValidationError { message field }
  ... on NotFoundError { message field resource }
  ... on Error { message }`;

export async function createInstance(client: OrreryClient, input: Record<string, unknown>) {
  const d = await client.request(`mutation($i: CreateInstanceInput!) { createInstance(input: $i) { ${INSTANCE_RESULT} } }`, { i: input });
  return d.createInstance;
}

export async function updateInstance(client: OrreryClient, id: string, input: Record<string, unknown>) {
  const d = await client.request(
    `mutation($id: ID!, $i: UpdateInstanceInput!) { updateInstance(id: $id, input: $i) { __typename
       ... on UpdateInstanceSuccess { instance { id status desiredPowerState generation } }
       ... on ConflictError { message currentState } ... on Error { message } } }`,
    { id, i: input },
  );
  return d.updateInstance;
}

export async function deleteInstance(client: OrreryClient, id: string) {
  const d = await client.request(
    `mutation($id: ID!) { deleteInstance(id: $id) { __typename ... on DeleteInstanceSuccess { instance { id } } ... on Error { message } } }`,
    { id },
  );
  return d.deleteInstance;
}

/** Polls the database until `check` holds (the state of the world, not a call's answer). */
export async function waitFor<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

export async function instanceRow(sql: Sql, id: string) {
  const [row] = await sql<{ vm_state: string; task_state: string | null; power_state: string; host_id: string | null;
    fault: { code: string; message: string } | null; desired_power_state: string; generation: number; observed_generation: number }[]>`
    select vm_state, task_state, power_state, host_id, fault, desired_power_state, generation, observed_generation
      from instances where id = ${id}`;
  return row;
}
