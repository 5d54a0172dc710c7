import { Command, CommanderError } from 'commander';
import { InputError } from '../config/problems.js';
import { packageVersion } from '../version.js';
import { registerBatch } from './commands/batch.js';
import { registerConfig } from './commands/config.js';
import { registerDestroy } from './commands/destroy.js';
import { registerExec } from './commands/exec.js';
import { registerKeys } from './commands/keys.js';
import { registerList } from './commands/list.js';
import { registerLogin } from './commands/login.js';
import { registerLogs } from './commands/logs.js';
import { registerReap } from './commands/reap.js';
import { registerRun } from './commands/run.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServe } from './commands/serve.js';
import { registerUsage } from './commands/usage.js';
import type { CommandContext } from './context.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { printInputError, processIo, type Io } from './output.js';

export function buildProgram(context: CommandContext): Command {
  const program = new Command('caged')
    .description('Budget-guarded coding-agent batches: each task in its own Docker sandbox with a hard US-dollar budget.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Lets `caged exec ID ls -la` pass the command's own options through.
    .enablePositionalOptions()
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n`)
    .configureOutput({
      writeOut: (text) => context.io.stdout.write(text),
      writeErr: (text) => context.io.stderr.write(text),
    })
    .exitOverride();
  registerRun(program, context);
  registerBatch(program, context);
  registerConfig(program, context);
  registerReap(program, context);
  registerExec(program, context);
  registerList(program, context);
  registerDestroy(program, context);
  registerLogs(program, context);
  registerSecrets(program, context);
  registerUsage(program, context);
  registerServe(program, context);
  registerLogin(program, context);
  registerKeys(program, context);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns its exit code; never calls process.exit itself. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const context: CommandContext = { io, exitCode: EXIT.ok };
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv);
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.badInput;
    }
    if (error instanceof InputError) {
      printInputError(io, error);
      return EXIT.badInput;
    }
    io.stderr.write(`caged: ${(error as Error).message}\n`);
    return EXIT.failure;
  }
}
