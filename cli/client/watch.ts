import { Option, type Command } from 'commander';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { kindOf } from './get.ts';
import { orDash } from './format.ts';

interface Event {
  type: string;
  instanceId: string;
  instance: { name: string; status: string; taskState: string | null; powerState: string; hostName: string | null } | null;
}

const COLUMNS: [string, number][] = [['TIME', 8], ['EVENT', 8], ['ID', 36], ['NAME', 20], ['STATUS', 9], ['TASK', 12], ['POWER', 9], ['HOST', 0]];

/** Fixed widths, as rows arrive one by one and cannot be measured first (kubectl get -w does the same). */
const line = (cells: string[]) => cells.map((c, i) => (COLUMNS[i]![1] ? c.padEnd(COLUMNS[i]![1]) : c)).join('  ').trimEnd() + '\n';

export function registerWatch(program: Command): void {
  withConnection(
    program
      .command('watch')
      .description('print instance changes as they happen, one line each, until Ctrl-C')
      .argument('<type>', 'instances')
      .option('-A, --all-projects', 'every project (admins)')
      .option('--status <status>', 'only events whose instance now has this status')
      .addOption(new Option('-o, --output <format>', 'table, or json for one JSON object per line').choices(['table', 'json']).default('table')),
  ).action(
    clientAction(async ({ client }, type: string, o: { allProjects?: boolean; status?: string; output: string }) => {
      kindOf(type, ['instances']);
      // The subscription retries a refused or unreachable connection forever; a plain request fails fast instead.
      await client.request(`{ whoami { kind } }`);
      const events = client.subscribe<{ instanceEvents: Event }>(
        `subscription($f: InstanceEventFilter) { instanceEvents(filter: $f) {
          type instanceId instance { name status taskState powerState hostName } } }`,
        { f: { allProjects: o.allProjects ?? false, ...(o.status ? { status: o.status.toUpperCase() } : {}) } },
      );
      // A DELETED event carries no instance; the name seen earlier still helps the reader.
      const names = new Map<string, string>();
      if (o.output !== 'json') process.stdout.write(line(COLUMNS.map(([h]) => h)));
      for await (const { instanceEvents: e } of events) {
        if (o.output === 'json') {
          process.stdout.write(JSON.stringify(e) + '\n');
          continue;
        }
        const i = e.instance;
        if (i) names.set(e.instanceId, i.name);
        const time = new Date().toTimeString().slice(0, 8);
        process.stdout.write(line([time, e.type, e.instanceId, orDash(names.get(e.instanceId)), orDash(i?.status), orDash(i?.taskState), orDash(i?.powerState), orDash(i?.hostName)]));
      }
    }),
  );
}
