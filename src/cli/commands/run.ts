import type { Command } from 'commander';
import { exitCodeFor } from '../../batch/results.js';
import { InputError } from '../../config/problems.js';
import { sandboxToJson } from '../../engine/json.js';
import type { SandboxInfo } from '../../engine/service.js';
import { formatUsd } from '../../money.js';
import type { CommandContext } from '../context.js';
import { runDetached } from '../detached.js';
import { collect, type SettingFlags } from '../flags.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';
import { resolveRunSettings } from '../run-settings.js';
import { formatDuration, uptimeSeconds } from '../render.js';
import { openLocalEngine, readSecrets, whenInterrupted } from '../session.js';

export interface RunFlags extends SettingFlags {
  config?: string;
  repo?: string;
  ref?: string;
  env?: string[];
  prompt?: string;
  json?: boolean;
  keep?: boolean;
}

export function addSandboxOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: .caged.yaml when present)')
    .option('--template <name>', 'sandbox template (default: .caged.yaml\'s, else node-20)')
    .option('--image <image>', 'an explicit Docker image instead of a template')
    .option('--cpus <n>', 'vCPUs (default: .caged.yaml\'s, else 2)')
    .option('--memory <MiB>', 'memory limit in MiB (default: .caged.yaml\'s, else 2048)')
    .option('--disk <GiB>', 'workspace disk limit in GiB')
    .option('--repo <repo>', 'https URL, owner/name, local path or file:// URL to clone into /workspace')
    .option('--ref <ref>', 'branch, tag or commit to check out')
    .option('--budget <usd>', 'hard budget in US dollars, e.g. 5 or "$5"')
    .option('--timeout <seconds>', 'idle timeout')
    .option('--max-duration <seconds>', 'wall-clock limit')
    .option('--network <mode>', 'none, gateway, allowlist or open (default: .caged.yaml\'s, else gateway)')
    .option('--allow-host <pattern>', 'allowlist entry (repeatable)', collect)
    .option('--init-script <script>', 'shell script run before anything else')
    .option('-e, --env <K=V>', 'environment (repeatable); provider keys stay in the gateway', collect);
}

export function registerRun(program: Command, context: CommandContext): void {
  addSandboxOptions(program.command('run'))
    .description('Run one sandbox: in the foreground with --prompt or a command after --; without either, create it on the server and return (detached)')
    .argument('[command...]', 'command to run (after --)')
    .option('-p, --prompt <text>', 'prompt for the agent')
    .option('--agent <name>', 'claude, codex or aider (default: .caged.yaml\'s, else claude)')
    .option('--model <model>', 'model the agent uses')
    .option('--keep', 'keep the sandbox and its workspace afterwards')
    .option('--json', 'print the final sandbox (detached: the new sandbox) as JSON')
    .action(async (command: string[], flags: RunFlags) => {
      const detached = flags.prompt === undefined && command.length === 0;
      context.exitCode = detached ? await runDetached(context, flags) : await runForeground(context, command, flags);
    });
}

async function runForeground(context: CommandContext, command: string[], flags: RunFlags): Promise<number> {
  const { io } = context;
  if (flags.prompt !== undefined && command.length > 0) throw InputError.at('--prompt', 'give either --prompt or a command after --, not both');
  const { settings, env } = await resolveRunSettings(context, flags);
  const secrets = readSecrets(settings.secrets, io.env);
  const engine = await openLocalEngine({ log: (line) => io.stderr.write(`${line}\n`) });
  const interrupt = whenInterrupted(() => io.stderr.write('caged: cancelling — stopping the sandbox\n'));
  let info: SandboxInfo;
  try {
    info = await engine.create({
      config: settings,
      repo: flags.repo,
      ref: flags.ref,
      env,
      secrets,
      keepWorkspace: flags.keep,
      ...(flags.prompt !== undefined ? { prompt: flags.prompt } : { command: command.length === 1 ? { shell: command[0]! } : { argv: command } }),
    });
    io.stderr.write(`caged: sandbox ${info.id} (${info.template}, budget ${formatUsd(info.budget)})\n`);
    const id = info.id;
    const unsubscribe = engine.subscribe((event) => {
      if (!('id' in event) || event.id !== id) return;
      if (event.type === 'output' && flags.prompt === undefined) (event.stream === 'stdout' ? io.stdout : io.stderr).write(event.text);
      if (event.type === 'progress') io.stderr.write(`  ${event.text}\n`);
    });
    interrupt.signal.addEventListener('abort', () => void engine.destroy(id, { force: true }).catch(() => undefined), { once: true });
    try {
      info = await engine.wait(id);
    } finally {
      unsubscribe();
    }
    const patch = await engine.patch(id);
    if (flags.json) {
      printJson(io, { ...sandboxToJson(info), patch });
    } else {
      if (flags.prompt !== undefined && info.final_message) io.stdout.write(`${info.final_message.trimEnd()}\n`);
      const changes = info.changes && info.changes.files > 0 ? `; ${info.changes.files} files +${info.changes.insertions} -${info.changes.deletions}` : '';
      io.stderr.write(
        `caged: ${info.id} ${info.status}${info.reason ? ` (${info.reason})` : ''} — ${formatUsd(info.cost.total)}/${formatUsd(info.budget)} ` +
          `(LLM ${formatUsd(info.cost.llm)}, compute ${formatUsd(info.cost.compute)}) in ${formatDuration(uptimeSeconds(info))}${changes}\n`,
      );
    }
  } finally {
    interrupt.dispose();
    await engine.close({ keep: flags.keep });
  }
  // Cancelled by the user is a failure whatever fail_on says, as for a batch.
  return interrupt.signal.aborted ? EXIT.failure : exitCodeFor([info], settings.fail_on);
}
