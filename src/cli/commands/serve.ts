import type { Command } from 'commander';
import { InputError } from '../../config/problems.js';
import type { CommandContext } from '../context.js';
import { localServerDir } from '../remote-session.js';

interface ServeFlags {
  host: string;
  port: string;
  dataDir?: string;
  maxConcurrent?: string;
  allowPrivateTargets?: boolean;
  allowLocalRepos?: boolean;
}

export function registerServe(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description('Run the caged REST API (/v1) over this host\'s Docker engine until SIGINT/SIGTERM')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '7433')
    .option('--data-dir <dir>', 'store, secrets key and workspaces (default: $CAGED_HOME/server)')
    .option('--max-concurrent <n>', 'sandboxes each API key may run at once, unless the key says otherwise (default 8)')
    .option('--allow-private-targets', 'let webhooks and provider base URLs point at loopback and private addresses')
    .option('--allow-local-repos', 'let sandboxes clone local paths of this host (one-user servers only)')
    .action(async (flags: ServeFlags) => {
      const { io } = context;
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw InputError.at('--port', `not a port: ${flags.port}`);
      const maxConcurrent = flags.maxConcurrent === undefined ? undefined : Number(flags.maxConcurrent);
      if (maxConcurrent !== undefined && (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)) {
        throw InputError.at('--max-concurrent', `must be a whole number of at least 1, got ${flags.maxConcurrent}`);
      }
      const dataDir = flags.dataDir ?? localServerDir(io.env);
      // Loaded here so that other commands do not pay for the server's modules.
      const { startServer } = await import('../../server/server.js');
      const server = await startServer({
        dataDir,
        host: flags.host,
        port,
        maxConcurrent,
        allowPrivateTargets: flags.allowPrivateTargets,
        allowLocalRepos: flags.allowLocalRepos,
        adminKey: io.env.CAGED_ADMIN_KEY || undefined,
        log: (line) => io.stderr.write(`${line}\n`),
      });
      io.stderr.write(`caged: listening on ${server.url} (data in ${dataDir})\n`);
      if (server.firstKey) {
        io.stdout.write(`Admin API key (shown once, store it now): ${server.firstKey.key}\n`);
        io.stdout.write(`Its webhook signing secret: ${server.firstKey.webhookSecret}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          io.stderr.write(`caged: ${signal}: stopping every sandbox and the server\n`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
