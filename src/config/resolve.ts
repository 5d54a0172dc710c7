import { toUsd } from '../money.js';
import { InputError, type Problem } from './problems.js';
import { mergeLayers, type ConfigLayer, type ResolvedConfig, type TaskInput } from './schema.js';
import { taskName } from './tasks.js';

export interface ResolvedTask {
  index: number;
  name: string;
  prompt: string;
  repo?: string;
  ref?: string;
  config: ResolvedConfig;
}

/** Precedence: flags > task > .caged.yaml > defaults. */
export function resolveTasks(config: ConfigLayer, tasks: TaskInput[], flags: ConfigLayer = {}): ResolvedTask[] {
  return tasks.map((task, index) => {
    const { name: _name, repo, ref, prompt, ...overrides } = task;
    return {
      index,
      name: taskName(task),
      prompt,
      ...(repo ? { repo } : {}),
      ...(ref ? { ref } : {}),
      config: mergeLayers(config, overrides, flags),
    };
  });
}

/** JSON view of a resolved config: money as USD numbers, everything else as is. */
export function configToJson(config: ResolvedConfig): Record<string, unknown> {
  const { budget, ...rest } = config;
  return { ...rest, ...(budget === undefined ? {} : { budget: toUsd(budget) }) };
}

/** Every task must have a budget before anything starts; `where` names the task in the error. */
export function checkBudgets(tasks: ResolvedTask[], where: (task: ResolvedTask) => string): void {
  const problems: Problem[] = tasks
    .filter((task) => task.config.budget === undefined)
    .map((task) => ({ location: where(task), message: `task "${task.name}" has no budget: set budget in .caged.yaml, the task, or --budget` }));
  if (problems.length > 0) throw new InputError(problems);
}
