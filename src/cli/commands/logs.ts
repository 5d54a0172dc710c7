import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { FINAL_STATUSES } from '../../sandbox/types.js';
import type { CommandContext } from '../context.js';
import { withRemote } from '../remote-session.js';

const FOLLOW_POLL_MS = 500;

export function registerLogs(program: Command, context: CommandContext): void {
  program
    .command('logs')
    .description('Output of a sandbox\'s job and execs so far')
    .argument('<id>', 'sandbox id')
    .option('-f, --follow', 'keep printing new output until the sandbox ends')
    .action(async (id: string, flags: { follow?: boolean }) => {
      await withRemote(context.io, async (client) => {
        let offset = 0;
        for (;;) {
          // The status is read before the output, and after the end the output is read until it
          // stops growing: an exec still flushing when the sandbox ended is printed too.
          const ended = !flags.follow || FINAL_STATUSES.has((await client.get(id)).status);
          const chunk = await client.logs(id, { offset });
          context.io.stdout.write(chunk.text);
          offset = chunk.next;
          if (ended && (!flags.follow || chunk.text === '')) return;
          if (!ended) await sleep(FOLLOW_POLL_MS);
        }
      });
    });
}
