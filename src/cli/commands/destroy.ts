import type { Command } from 'commander';
import { sandboxToJson } from '../../engine/json.js';
import type { SandboxInfo } from '../../engine/service.js';
import { formatUsd } from '../../money.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';
import { withRemote } from '../remote-session.js';

export function registerDestroy(program: Command, context: CommandContext): void {
  program
    .command('destroy')
    .alias('rm')
    .description('Remove sandboxes (container, network, workspace); a running one needs --force and ends as cancelled')
    .argument('<ids...>', 'sandbox ids')
    .option('-f, --force', 'stop it first when it still runs')
    .option('--json', 'print the destroyed sandboxes as a JSON array')
    .action(async (ids: string[], flags: { force?: boolean; json?: boolean }) => {
      const { io } = context;
      const destroyed: SandboxInfo[] = [];
      await withRemote(io, async (client) => {
        for (const id of ids) {
          try {
            const info = await client.destroy(id, { force: flags.force });
            destroyed.push(info);
            if (!flags.json) io.stdout.write(`${id} destroyed (${formatUsd(info.cost.total)}/${formatUsd(info.budget)})\n`);
          } catch (error) {
            io.stderr.write(`caged: ${(error as Error).message}\n`);
            context.exitCode = EXIT.failure;
          }
        }
      });
      if (flags.json) printJson(io, destroyed.map(sandboxToJson));
    });
}
