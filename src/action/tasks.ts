import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { loadConfigFile } from '../config/load.js';
import { InputError } from '../config/problems.js';
import { checkBudgets, resolveTasks, type ResolvedTask } from '../config/resolve.js';
import { mergeLayers, type ConfigLayer, type ResolvedConfig, type TaskInput } from '../config/schema.js';
import { loadTasksFile, parseTasksText } from '../config/tasks.js';
import { readSecrets } from '../cli/session.js';
import type { ActionContext } from './context.js';
import { INPUT_DEFAULTS, type ActionInputs } from './inputs.js';
import { selectShard } from './shard.js';

export interface TaskPlan {
  /** Every task of the list, numbered in list order. */
  all: ResolvedTask[];
  /** This job's share (all of them unless sharded). */
  selected: ResolvedTask[];
  /** Batch-wide settings: max_parallel and fail_on, inputs over `.caged.yaml`. */
  settings: ResolvedConfig;
  secrets: Record<string, string>;
}

/** `.caged.yaml` of the checked-out workspace; the default name is optional, a named file is not. */
export async function loadActionConfig(inputs: ActionInputs, context: ActionContext): Promise<ConfigLayer> {
  const path = resolve(context.workspace, inputs.config);
  if (inputs.config === INPUT_DEFAULTS.config && !existsSync(path)) return {};
  return (await loadConfigFile(path)).config;
}

/** The `tasks` input: a path to a task file when it is one line naming a file, else the list itself. */
export async function taskInputs(inputs: ActionInputs, context: ActionContext): Promise<TaskInput[]> {
  const text = inputs.tasks;
  if (!text) throw InputError.at('input tasks', 'tasks is required: a YAML/JSON list, lines of repo|prompt|budget, or a path to a task file');
  const single = text.trim();
  if (!single.includes('\n') && existsSync(resolve(context.workspace, single))) return loadTasksFile(resolve(context.workspace, single));
  if (!single.includes('\n') && !single.includes('|') && /\.(ya?ml|json|txt)$/.test(single)) {
    throw InputError.at('input tasks', `task file ${single} not found in the workspace (${context.workspace})`);
  }
  return parseTasksText(text, 'input tasks');
}

/** What a task's repo is cloned from: GitHub shorthand means this server's GitHub (GitHub Enterprise Server included). */
export function cloneSource(repo: string, serverUrl: string): string {
  if (serverUrl === 'https://github.com') return repo;
  return /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo) && !repo.startsWith('.') ? `${serverUrl}/${repo.replace(/\.git$/, '')}.git` : repo;
}

/**
 * Resolves the batch: `.caged.yaml`, then the `budget`/`agent` inputs as defaults for tasks that
 * set none, then each task. Everything is checked (budgets, secrets) before anything starts.
 */
export async function planTasks(inputs: ActionInputs, context: ActionContext, tasks: TaskInput[]): Promise<TaskPlan> {
  const config = await loadActionConfig(inputs, context);
  const defaults: ConfigLayer = {
    ...config,
    ...(inputs.budget !== undefined ? { budget: inputs.budget } : {}),
    ...(inputs.agent ? { agent: inputs.agent } : {}),
  };
  const batchLayer: ConfigLayer = {
    ...(inputs.maxParallel ? { max_parallel: inputs.maxParallel } : {}),
    ...(inputs.failOn ? { fail_on: inputs.failOn } : {}),
  };
  const all = resolveTasks(defaults, tasks);
  checkBudgets(all, (task) => `task ${task.index + 1}`);
  const selected = selectShard(all, inputs.shard);
  const secrets = readSecrets(
    selected.flatMap((task) => task.config.secrets),
    process.env,
  );
  for (const value of Object.values(secrets)) core.setSecret(value);
  return { all, selected, settings: mergeLayers(defaults, batchLayer), secrets };
}
