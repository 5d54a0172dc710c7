import type { Command } from 'commander';
import { formatUsd, parseUsd } from '../../money.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { withRemote } from '../remote-session.js';

export function registerUsage(program: Command, context: CommandContext): void {
  program
    .command('usage')
    .description('Spend totals of every sandbox of this API key')
    .option('--json', 'print as JSON (US-dollar numbers)')
    .action(async (flags: { json?: boolean }) => {
      const { io } = context;
      const usage = await withRemote(io, (client) => client.usage());
      if (flags.json) {
        printJson(io, usage);
        return;
      }
      const usd = (value: number) => formatUsd(parseUsd(value));
      const statuses = Object.entries(usage.by_status)
        .map(([status, count]) => `${count} ${status}`)
        .join(', ');
      io.stdout.write(
        `Sandboxes: ${usage.sandboxes}${statuses ? ` (${statuses})` : ''}\n` +
          `Spend:     ${usd(usage.cost)} of ${usd(usage.budget)} budgeted (LLM ${usd(usage.cost_breakdown.llm)}, compute ${usd(usage.cost_breakdown.compute)})\n` +
          `Tokens:    ${usage.tokens.input} in, ${usage.tokens.output} out, ${usage.tokens.cache_read} cache read, ${usage.tokens.cache_write} cache write\n`,
      );
    });
}
