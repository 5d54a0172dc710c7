import { sandboxToJson } from '../engine/json.js';
import { formatUsd } from '../money.js';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { printJson } from './output.js';
import { withRemote } from './remote-session.js';
import type { RunFlags } from './commands/run.js';
import { resolveRunSettings } from './run-settings.js';

/**
 * `caged run` without a prompt or command: creates the sandbox on the server and returns at
 * once; work goes in with `caged exec`. Secrets named in the config are the server's.
 */
export async function runDetached(context: CommandContext, flags: RunFlags): Promise<number> {
  const { io } = context;
  const { settings, env } = await resolveRunSettings(context, flags);
  const info = await withRemote(io, (client) =>
    client.create({ config: settings, env, ...(flags.repo ? { repo: flags.repo } : {}), ...(flags.ref ? { ref: flags.ref } : {}) }),
  );
  if (flags.json) {
    printJson(io, sandboxToJson(info));
  } else {
    io.stdout.write(`${info.id}\n`);
    io.stderr.write(`caged: sandbox ${info.id} (${info.template}, budget ${formatUsd(info.budget)}) is starting; run work in it with caged exec ${info.id} CMD\n`);
  }
  return EXIT.ok;
}
