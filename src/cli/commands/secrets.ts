import type { Command } from 'commander';
import { InputError } from '../../config/problems.js';
import type { CommandContext } from '../context.js';
import { printJson, renderTable } from '../output.js';
import { withRemote } from '../remote-session.js';
import { readStdin } from '../stdin.js';

export function registerSecrets(program: Command, context: CommandContext): void {
  const secrets = program.command('secrets').description('Secrets of this API key, encrypted on the server; sandboxes name them in secrets: [NAME]');
  secrets
    .command('set')
    .description('Set a secret; without VALUE it is read from standard input (keeps it out of shell history)')
    .argument('<name>', 'e.g. ANTHROPIC_API_KEY')
    .argument('[value]', 'the value')
    .action(async (name: string, value: string | undefined) => {
      const secret = value ?? (await readStdin());
      if (!secret) throw InputError.at('caged secrets set', `no value for ${name}: pass it or pipe it on standard input`);
      await withRemote(context.io, (client) => client.putSecret(name, secret));
      context.io.stderr.write(`caged: secret ${name} set\n`);
    });
  secrets
    .command('list')
    .alias('ls')
    .description('Names of the secrets (never their values)')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }) => {
      const list = await withRemote(context.io, (client) => client.listSecrets());
      if (flags.json) printJson(context.io, list);
      else context.io.stdout.write(`${renderTable(['NAME', 'UPDATED'], list.map((secret) => [secret.name, secret.updated_at]))}\n`);
    });
  secrets
    .command('rm')
    .description('Remove a secret')
    .argument('<name>', 'secret name')
    .action(async (name: string) => {
      await withRemote(context.io, (client) => client.deleteSecret(name));
      context.io.stderr.write(`caged: secret ${name} removed\n`);
    });
  for (const command of secrets.commands) command.exitOverride();
}
