import { toUsd } from '../money.js';
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
