import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import type { BatchReport } from '../batch/results.js';
import { runBatch } from '../batch/run-batch.js';
import { BatchProgress } from '../cli/progress.js';
import type { ResolvedTask } from '../config/resolve.js';
import { openService } from './backend.js';
import type { ActionContext } from './context.js';
import type { ActionInputs } from './inputs.js';
import { cloneSource, type TaskPlan } from './tasks.js';
import { copyWorkspace } from './workspace-copy.js';

export interface Execution {
  report: BatchReport;
  cancelled: boolean;
  /** Task index → the workspace copy it ran on (tasks without a repo). */
  copies: Map<number, string>;
  patchDir: string;
}

/** Where each task is cloned from: its repo on this GitHub server, or its own copy of the checked-out workspace. */
async function sourcesFor(tasks: ResolvedTask[], context: ActionContext, copies: Map<number, string>): Promise<ResolvedTask[]> {
  const out: ResolvedTask[] = [];
  for (const task of tasks) {
    if (task.repo) {
      out.push({ ...task, repo: cloneSource(task.repo, context.serverUrl) });
      continue;
    }
    const dir = join(context.scratch, 'workspaces', `task-${task.index + 1}`);
    const { snapshot } = await copyWorkspace(context.workspace, dir);
    if (snapshot) core.info(`caged: task ${task.index + 1} starts from the workspace including its uncommitted changes (committed in its copy)`);
    copies.set(task.index, dir);
    out.push({ ...task, repo: dir });
  }
  return out;
}

/** Runs this job's tasks through the SandboxService; on cancellation every sandbox is stopped and each task still reports. */
export async function executeTasks(inputs: ActionInputs, context: ActionContext, plan: TaskPlan, signal: AbortSignal): Promise<Execution> {
  await mkdir(context.scratch, { recursive: true });
  const copies = new Map<number, string>();
  const patchDir = join(context.scratch, 'patches');
  const tasks = await sourcesFor(plan.selected, context, copies);
  const progress = new BatchProgress({ stdout: process.stdout, stderr: process.stdout, env: { ...process.env, CI: 'true' } });
  const opened = await openService(inputs, context);
  let report: BatchReport;
  try {
    core.info(`caged: ${tasks.length} of ${plan.all.length} task(s) in run ${context.runId}`);
    report = await runBatch(opened.service, tasks, {
      runId: context.runId,
      maxParallel: plan.settings.max_parallel,
      signal,
      outDir: patchDir,
      secrets: plan.secrets,
      gitToken: inputs.githubToken,
      onEvent: (event) => progress.onBatch(event),
    });
  } finally {
    progress.stop();
    await opened.close();
  }
  // The report names the repo as the task did, and the workspace rather than its temporary copy.
  const given = new Map(plan.selected.map((task) => [task.index, task.repo ?? null]));
  report.results = report.results.map((result) => ({ ...result, repo: given.get(result.index) ?? null }));
  return { report, cancelled: signal.aborted, copies, patchDir };
}

export async function removeCopies(execution: Execution): Promise<void> {
  await Promise.all([...execution.copies.values()].map((dir) => rm(dir, { recursive: true, force: true })));
}
