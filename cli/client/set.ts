import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { clientAction } from './action.ts';
import { withConnection } from './connection.ts';
import { CliError, ERROR_FIELDS, unwrap } from './errors.ts';

/** Piped: the first line of stdin. On a terminal: asked twice, never echoed nor taken as an argument (shell history). */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) return line;
    throw new CliError('no password on stdin');
  }
  const ask = (prompt: string) => new Promise<string>((resolve) => {
    process.stderr.write(prompt);
    let typed = '';
    process.stdin.setRawMode(true);
    process.stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(typed);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    process.stdin.on('data', onData);
  });
  const first = await ask('New password: ');
  if ((await ask('Again: ')) !== first) throw new CliError('the passwords differ');
  return first;
}

export function registerSet(program: Command): void {
  const set = program.command('set').description('set a user\'s password');
  withConnection(
    set
      .command('password')
      .description('the password OpenStack tools log in with (Identity v3): your own, or (admins) any user\'s')
      .argument('[user]', 'user name or ID (default: you)'),
  ).action(
    clientAction(async ({ client }, user: string | undefined) => {
      const name = user ?? (await client.request(`{ whoami { userName } }`)).whoami.userName;
      if (!name) throw new CliError('this token is not a user\'s; name the user');
      const password = await readPassword();
      const d = await client.request(
        `mutation($u: String!, $p: String!) { setUserPassword(user: $u, password: $p) { ${ERROR_FIELDS} ... on SetUserPasswordSuccess { user { name } } } }`,
        { u: name, p: password },
      );
      process.stdout.write(`user/${unwrap(d.setUserPassword).user.name} password set\n`);
    }),
  );
}
