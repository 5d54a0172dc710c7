import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../config/load.js';
import { checkBudgets, configToJson, resolveTasks } from '../../config/resolve.js';
import { mergeLayers } from '../../config/schema.js';
import { loadTasksFile } from '../../config/tasks.js';
import { EXIT } from '../exit-codes.js';
import { settingsFromFlags } from '../flags.js';
import { printJson, type Io } from '../output.js';
import type { CommandContext } from '../context.js';

export function registerConfig(program: Command, context: CommandContext): void {
  const config = program.command('config').description('Inspect and validate .caged.yaml and task lists');
  config
    .command('validate')
    .description('Validate a config file (default .caged.yaml) and optionally a task list; print the resolved settings')
    .argument('[file]', 'config file (default: .caged.yaml; optional when absent)')
    .option('--tasks <file>', 'also validate a task list (YAML/JSON list or repo|prompt|budget lines)')
    .option('--budget <usd>', 'budget of every task, as `caged batch --budget` sets it (for lists whose budgets come from there or the action\'s budget input)')
    .option('--json', 'print the resolved config as JSON')
    .action(async (file: string | undefined, options: ValidateOptions) => {
      context.exitCode = await validate(context.io, file, options);
    });
}

interface ValidateOptions {
  tasks?: string;
  budget?: string;
  json?: boolean;
}

async function validate(io: Io, file: string | undefined, options: ValidateOptions): Promise<number> {
  const loaded = await loadConfigFile(file);
  const tasks = options.tasks ? resolveTasks(loaded.config, await loadTasksFile(options.tasks), settingsFromFlags({ budget: options.budget })) : undefined;
  // What `caged batch` would refuse, this refuses too.
  if (tasks) checkBudgets(tasks, (task) => `${options.tasks}: task ${task.index + 1}`);
  const resolved = {
    file: loaded.file ?? null,
    config: configToJson(mergeLayers(loaded.config)),
    ...(tasks
      ? { tasks: tasks.map((task) => ({ name: task.name, repo: task.repo ?? null, ref: task.ref ?? null, prompt: task.prompt, config: configToJson(task.config) })) }
      : {}),
  };
  if (options.json) {
    printJson(io, resolved);
  } else {
    io.stderr.write(`${loaded.file ?? '(no .caged.yaml: defaults)'} is valid${tasks ? `; ${tasks.length} task${tasks.length === 1 ? '' : 's'} in ${options.tasks}` : ''}\n`);
    io.stdout.write(stringify(resolved, { aliasDuplicateObjects: false }));
  }
  return EXIT.ok;
}
