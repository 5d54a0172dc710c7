import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { exitCodeFor, reportToJson } from '../../batch/results.js';
import { runBatch } from '../../batch/run-batch.js';
import { loadConfigFile } from '../../config/load.js';
import { checkBudgets, resolveTasks } from '../../config/resolve.js';
import { mergeLayers } from '../../config/schema.js';
import { loadTasksFile } from '../../config/tasks.js';
import type { CommandContext } from '../context.js';
import { collect, parseEnvFlags, settingsFromFlags, type SettingFlags } from '../flags.js';
import { printJson } from '../output.js';
import { BatchProgress } from '../progress.js';
import { batchTable } from '../render.js';
import { openLocalEngine, readSecrets, whenInterrupted } from '../session.js';

interface BatchFlags extends SettingFlags {
  config?: string;
  json?: boolean;
  out?: string;
  keep?: boolean;
  env?: string[];
}

export function registerBatch(program: Command, context: CommandContext): void {
  program
    .command('batch')
    .description('Run every task of a task list in its own sandbox, in parallel, each with its own budget')
    .argument('<tasks>', 'task list file: a YAML/JSON list of {repo, prompt, budget, …} or lines of repo|prompt|budget')
    .option('-c, --config <file>', 'config file (default: .caged.yaml when present)')
    .option('--max-parallel <n>', 'tasks running at once (default: host CPUs ÷ task vCPUs)')
    .option('--budget <usd>', "budget of every task, over the tasks' own and .caged.yaml's")
    .option('--agent <name>', "agent of every task (claude, codex or aider), over the tasks' own")
    .option('--model <model>', "model of every task's agent, over the tasks' own")
    .option('--template <name>', "sandbox template of every task, over the tasks' own")
    .option('--fail-on <when>', 'budget, error (default) or never')
    .option('-e, --env <K=V>', 'environment for every sandbox (repeatable); provider keys stay in the gateway', collect)
    .option('--out <file>', 'write the results JSON here (patches go beside it)')
    .option('--keep', 'keep sandboxes and workspaces after the run (remove with caged destroy)')
    .option('--json', 'print the results as JSON on stdout')
    .action(async (tasksFile: string, flags: BatchFlags) => {
      context.exitCode = await batch(context, tasksFile, flags);
    });
}

async function batch(context: CommandContext, tasksFile: string, flags: BatchFlags): Promise<number> {
  const { io } = context;
  const { config } = await loadConfigFile(flags.config);
  const flagLayer = settingsFromFlags(flags);
  const tasks = resolveTasks(config, await loadTasksFile(tasksFile), flagLayer);
  checkBudgets(tasks, (task) => `${tasksFile}: task ${task.index + 1}`);
  const env = parseEnvFlags(flags.env, io.env);
  const secrets = readSecrets(tasks.flatMap((task) => task.config.secrets), io.env);
  const settings = mergeLayers(config, flagLayer);
  const runId = `run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const outFile = flags.out ? resolve(flags.out) : undefined;
  const outDir = outFile ? join(dirname(outFile), `${runId}-patches`) : undefined;

  const progress = new BatchProgress(io);
  const engine = await openLocalEngine({ log: (line) => progress.log(line), labels: { 'dev.caged.run': runId } });
  const unsubscribe = engine.subscribe((event) => progress.onEngine(event));
  const interrupt = whenInterrupted(() => progress.log('caged: cancelling the batch — stopping every sandbox and writing partial results'));
  let report;
  try {
    report = await runBatch(engine, tasks, {
      runId,
      maxParallel: settings.max_parallel,
      keep: flags.keep,
      signal: interrupt.signal,
      outDir,
      env,
      secrets,
      onEvent: (event) => progress.onBatch(event),
    });
  } finally {
    progress.stop();
    unsubscribe();
    interrupt.dispose();
    await engine.close({ keep: flags.keep });
  }
  const json = reportToJson(report);
  if (outFile) {
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, `${JSON.stringify(json, null, 2)}\n`);
  }
  if (flags.json) printJson(io, json);
  else io.stdout.write(`\n${batchTable(report)}\n${outFile ? `Results: ${outFile}\n` : ''}`);
  return interrupt.signal.aborted ? 1 : exitCodeFor(report.results, settings.fail_on);
}
