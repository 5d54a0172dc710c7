import type { Command } from 'commander';
import { InputError } from '../../config/problems.js';
import { sandboxToJson } from '../../engine/json.js';
import { SANDBOX_STATUSES, type SandboxStatus } from '../../sandbox/types.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { withRemote } from '../remote-session.js';
import { sandboxTable } from '../render.js';

export function registerList(program: Command, context: CommandContext): void {
  program
    .command('list')
    .alias('ls')
    .description('Sandboxes with their status, cost and budget (ID TEMPLATE STATUS COST BUDGET UPTIME)')
    .option('--json', 'a JSON array; cost and budget are US-dollar numbers')
    .option('--all', 'include destroyed sandboxes')
    .option('--status <list>', `only these statuses, comma-separated (${SANDBOX_STATUSES.join(', ')})`)
    .action(async (flags: { json?: boolean; all?: boolean; status?: string }) => {
      const { io } = context;
      const status = flags.status?.split(',').map((value) => value.trim());
      const unknown = status?.find((value) => !(SANDBOX_STATUSES as readonly string[]).includes(value));
      if (unknown) throw InputError.at('--status', `unknown status "${unknown}"; one of ${SANDBOX_STATUSES.join(', ')}`);
      const sandboxes = await withRemote(io, (client) => client.list({ all: flags.all, ...(status ? { status: status as SandboxStatus[] } : {}) }));
      if (flags.json) printJson(io, sandboxes.map(sandboxToJson));
      else io.stdout.write(`${sandboxTable(sandboxes)}\n`);
    });
}
