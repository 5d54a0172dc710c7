import type { Command } from 'commander';
import { InputError } from '../../config/problems.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { withRemote } from '../remote-session.js';

export function registerKeys(program: Command, context: CommandContext): void {
  const keys = program.command('keys').description('API keys of the server (each key is a tenant)');
  keys
    .command('create')
    .description('Mint an API key (needs an admin key); it is shown only once')
    .option('--name <name>', 'a label for the key')
    .option('--max-concurrent <n>', 'sandboxes this key may run at once')
    .option('--admin', 'the new key may mint keys too')
    .option('--json', 'print as JSON')
    .action(async (flags: { name?: string; maxConcurrent?: string; admin?: boolean; json?: boolean }) => {
      const maxConcurrent = flags.maxConcurrent === undefined ? undefined : Number(flags.maxConcurrent);
      if (maxConcurrent !== undefined && (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)) {
        throw InputError.at('--max-concurrent', `must be a whole number of at least 1, got ${flags.maxConcurrent}`);
      }
      const created = await withRemote(context.io, (client) =>
        client.createKey({ ...(flags.name ? { name: flags.name } : {}), ...(maxConcurrent ? { max_concurrent: maxConcurrent } : {}), ...(flags.admin ? { admin: true } : {}) }),
      );
      if (flags.json) {
        printJson(context.io, created);
        return;
      }
      context.io.stdout.write(`API key (shown once, store it now): ${created.key}\n`);
      context.io.stdout.write(`Webhook signing secret: ${created.webhook_secret}\n`);
      context.io.stderr.write(`caged: key ${created.id}${created.admin ? ' (admin)' : ''}, at most ${created.max_concurrent} sandboxes at once\n`);
    });
  for (const command of keys.commands) command.exitOverride();
}
