import { Option, type Command } from 'commander';
import type { OrreryClient } from '../../client/graphql.ts';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { CliError } from './errors.ts';
import { age, collect, keyValues, orDash, printData, printTable, type OutputFormat } from './format.ts';

interface GetOptions {
  allProjects?: boolean;
  output: OutputFormat;
  status?: string;
  host?: string;
  tag: string[];
}

/** One kind of resource: how to fetch it and how its table looks. */
interface Listing {
  items: Record<string, any>[];
  headers: string[];
  row(item: Record<string, any>): string[];
}

interface Page {
  edges: { node: Record<string, any> }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

type Lister = (client: OrreryClient, o: GetOptions) => Promise<Listing>;

/** Follows a relay connection to its end (the API caps a page at 100). */
export async function allPages(client: OrreryClient, field: string, query: string, variables: Record<string, unknown>) {
  const items: Record<string, any>[] = [];
  let after: string | null = null;
  do {
    const d: Record<string, Page> = await client.request(query, { ...variables, after });
    const page: Page = d[field]!;
    items.push(...page.edges.map((e) => e.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return items;
}

const instances: Lister = async (client, o) => {
  // whoami decides the HOST column: only admins are told where instances run.
  const { whoami } = await client.request(`{ whoami { roles } }`);
  const admin = (whoami.roles as string[]).includes('admin');
  const filter = {
    ...(o.status ? { status: o.status.toUpperCase() } : {}),
    ...(o.host ? { host: o.host } : {}),
    ...(o.tag.length > 0 ? { tags: o.tag } : {}),
  };
  const items = await allPages(
    client,
    'instances',
    `query($after: String, $all: Boolean, $filter: InstanceFilter) {
      instances(first: 100, after: $after, allProjects: $all, filter: $filter) {
        edges { node { id name projectId status vmState taskState powerState desiredPowerState
          flavor { name } imageId requestedZone tags hostName createdAt launchedAt fault { code message } } }
        pageInfo { hasNextPage endCursor } } }`,
    { all: o.allProjects ?? false, filter },
  );
  return {
    items,
    headers: ['ID', 'NAME', 'STATUS', 'TASK', 'POWER', 'FLAVOR', ...(admin ? ['HOST'] : []), 'AGE'],
    row: (i) => [i.id, i.name, i.status, orDash(i.taskState), i.powerState, i.flavor.name, ...(admin ? [orDash(i.hostName)] : []), age(i.createdAt)],
  };
};

const hosts: Lister = async (client) => {
  const items = await allPages(
    client,
    'hosts',
    `query($after: String) { hosts(first: 100, after: $after) {
      edges { node { id name state enabled disabledReason zone instanceCount hypervisorType lastHeartbeatAt
        capacity { vcpus memoryMb diskGb } used { vcpus memoryMb diskGb } } }
      pageInfo { hasNextPage endCursor } } }`,
    {},
  );
  return {
    items,
    headers: ['NAME', 'STATE', 'STATUS', 'ZONE', 'VCPUS', 'RAM', 'DISK', 'INSTANCES'],
    row: (h) => [
      h.name, h.state, h.enabled ? 'enabled' : 'disabled', orDash(h.zone),
      `${h.used.vcpus}/${h.capacity.vcpus}`, `${h.used.memoryMb}/${h.capacity.memoryMb}Mi`, `${h.used.diskGb}/${h.capacity.diskGb}Gi`,
      String(h.instanceCount),
    ],
  };
};

const flavors: Lister = async (client) => ({
  items: (await client.request(`{ flavors { id name vcpus ramMb diskGb ephemeralGb swapMb isPublic description extraSpecs { key value } createdAt } }`)).flavors,
  headers: ['NAME', 'VCPUS', 'RAM', 'DISK', 'EPHEMERAL', 'PUBLIC', 'ID'],
  row: (f) => [f.name, String(f.vcpus), `${f.ramMb}Mi`, `${f.diskGb}Gi`, `${f.ephemeralGb}Gi`, f.isPublic ? 'yes' : 'no', f.id],
});

const images: Lister = async (client, o) => ({
  items: (await client.request(
    `query($all: Boolean) { images(allProjects: $all) { id name status diskFormat visibility sizeBytes checksum minDiskGb minRamMb ownerProjectId createdAt } }`,
    { all: o.allProjects ?? false },
  )).images,
  headers: ['ID', 'NAME', 'STATUS', 'FORMAT', 'VISIBILITY', 'SIZE', 'AGE'],
  row: (i) => [i.id, i.name, i.status, i.diskFormat, i.visibility, orDash(i.sizeBytes), age(i.createdAt)],
});

const zones: Lister = async (client) => ({
  items: (await client.request(`{ availabilityZones { id name description hosts createdAt } }`)).availabilityZones,
  headers: ['NAME', 'HOSTS', 'DESCRIPTION', 'AGE'],
  row: (z) => [z.name, orDash(z.hosts.join(',')), orDash(z.description), age(z.createdAt)],
});

const aggregates: Lister = async (client) => ({
  items: (await client.request(`{ aggregates { id name hosts metadata { key value } createdAt } }`)).aggregates,
  headers: ['NAME', 'HOSTS', 'METADATA', 'AGE'],
  row: (a) => [a.name, orDash(a.hosts.join(',')), orDash(keyValues(a.metadata)), age(a.createdAt)],
});

const KINDS: Record<string, Lister> = { instances, hosts, flavors, images, zones, aggregates };

/** `instance`, `instances` and the like: kubectl accepts either number. */
export function kindOf(word: string, known: string[]): string {
  const kind = known.find((k) => k === word || k === `${word}s`);
  if (!kind) throw new CliError(`unknown resource type "${word}"; expected one of ${known.join(', ')}`);
  return kind;
}

export function registerGet(program: Command): void {
  withConnection(
    program
      .command('get')
      .description('list resources: instances, hosts, flavors, images, zones or aggregates')
      .argument('<type>', Object.keys(KINDS).join('|'))
      .option('-A, --all-projects', 'every project (admins; instances and images)')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
      .option('--status <status>', 'instances with this status (ACTIVE, SHUTOFF, ERROR, …)')
      .option('--host <name>', 'instances on this host (admins)')
      .option('--tag <tag>', 'instances carrying this tag (repeat: all of them)', collect, []),
  ).action(
    clientAction(async ({ client }, type: string, o: GetOptions) => {
      const kind = kindOf(type, Object.keys(KINDS));
      if ((o.status || o.host || o.tag.length > 0) && kind !== 'instances') {
        throw new CliError('--status, --host and --tag apply to instances only');
      }
      const listing = await KINDS[kind]!(client, o);
      if (o.output === 'table') printTable(listing.headers, listing.items.map(listing.row));
      else printData(listing.items, o.output);
    }),
  );
}
