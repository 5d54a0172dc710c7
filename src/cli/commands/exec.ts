import type { Command } from 'commander';
import { InputError } from '../../config/problems.js';
import { FINAL_STATUSES } from '../../sandbox/types.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { collect, parseEnvFlags } from '../flags.js';
import { withRemote } from '../remote-session.js';
import { whenInterrupted } from '../session.js';
import { exitCodeFor } from '../../batch/results.js';

interface ExecFlags {
  env?: string[];
  workdir?: string;
  timeout?: string;
}

export function registerExec(program: Command, context: CommandContext): void {
  program
    .command('exec')
    .description('Run a command in a running sandbox: one argument runs with sh -c, several are argv (options go before ID)')
    .passThroughOptions()
    .argument('<id>', 'sandbox id')
    .argument('<command...>', 'the command')
    .option('-e, --env <K=V>', 'environment for this command (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory (default /workspace)')
    .option('--timeout <seconds>', 'stop the command after this many seconds')
    .addHelpText(
      'after',
      '\nExit codes: the command\'s own; 3 when the sandbox is killed by its budget meanwhile; 4 when --timeout ' +
        'or the sandbox\'s own timeout ends it; 130 on Ctrl-C; 1 when caged itself fails.\n',
    )
    .action(async (id: string, args: string[], flags: ExecFlags) => {
      const { io } = context;
      // Options pass through after ID, and so does a `--` written out of habit.
      const command = args[0] === '--' ? args.slice(1) : args;
      if (command.length === 0) throw InputError.at('caged exec', 'no command: caged exec ID CMD');
      const timeout = flags.timeout === undefined ? undefined : Number(flags.timeout);
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw InputError.at('--timeout', `must be a whole number of seconds, got ${flags.timeout}`);
      const env = parseEnvFlags(flags.env, io.env);
      context.exitCode = await withRemote(io, async (client) => {
        const interrupt = whenInterrupted(() => io.stderr.write('caged: stopping the command\n'));
        try {
          const outcome = await client.exec(id, command.length === 1 ? { shell: command[0]! } : { argv: command }, {
            env,
            ...(flags.workdir ? { workdir: flags.workdir } : {}),
            ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
            signal: interrupt.signal,
            onStdout: (chunk) => io.stdout.write(chunk),
            onStderr: (chunk) => io.stderr.write(chunk),
          });
          if (FINAL_STATUSES.has(outcome.sandboxStatus)) {
            io.stderr.write(`WARN: Sandbox ${id} terminated — ${outcome.reason ?? outcome.sandboxStatus}\n`);
            return exitCodeFor([{ status: outcome.sandboxStatus }], 'error');
          }
          if (interrupt.signal.aborted) return 130;
          if (outcome.timedOut) {
            io.stderr.write(`caged: the command timed out after ${timeout}s\n`);
            return EXIT.timedOut;
          }
          return outcome.exitCode ?? EXIT.failure;
        } finally {
          interrupt.dispose();
        }
      });
    });
}
