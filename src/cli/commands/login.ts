import type { Command } from 'commander';
import { RemoteClient } from '../../client/remote.js';
import { InputError } from '../../config/problems.js';
import type { CommandContext } from '../context.js';
import { readStdin } from '../stdin.js';
import { writeLogin } from '../remote-session.js';

export function registerLogin(program: Command, context: CommandContext): void {
  program
    .command('login')
    .description('Save the caged server and API key the CLI uses (env CAGED_API_URL/CAGED_API_KEY win)')
    .option('--api-url <url>', 'server URL (default: $CAGED_API_URL, else http://127.0.0.1:7433)')
    .option('--api-key <key>', 'API key (default: read from standard input)')
    .action(async (flags: { apiUrl?: string; apiKey?: string }) => {
      const { io } = context;
      const apiUrl = flags.apiUrl ?? io.env.CAGED_API_URL ?? 'http://127.0.0.1:7433';
      if (!/^https?:\/\//.test(apiUrl)) throw InputError.at('--api-url', `must be an http(s) URL, got ${apiUrl}`);
      const apiKey = (flags.apiKey ?? (await readStdin())).trim();
      if (!apiKey) throw InputError.at('--api-key', 'no API key: pass --api-key or pipe it on standard input');
      const client = new RemoteClient({ apiUrl, apiKey });
      try {
        await client.usage();
      } finally {
        await client.close();
      }
      const path = writeLogin(io.env, { api_url: apiUrl, api_key: apiKey });
      io.stderr.write(`caged: logged in to ${apiUrl} (saved in ${path})\n`);
    });
}
