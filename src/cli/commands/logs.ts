import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { withRemote } from '../remote-session.js';

export function registerLogs(program: Command, context: CommandContext): void {
  program
    .command('logs')
    .description('Output of a sandbox\'s job and execs so far')
    .argument('<id>', 'sandbox id')
    .action(async (id: string) => {
      const text = await withRemote(context.io, (client) => client.logs(id));
      context.io.stdout.write(text);
    });
}
