import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ResolvedTask } from '../config/resolve.js';
import type { SandboxInfo, SandboxService } from '../engine/service.js';
import { LABELS } from '../sandbox/types.js';
import { outcomeFromInfo, totalsOf, type BatchReport, type TaskOutcome } from './results.js';

export type BatchEvent =
  | { type: 'queued'; task: ResolvedTask }
  | { type: 'started'; task: ResolvedTask; sandbox: SandboxInfo }
  | { type: 'finished'; task: ResolvedTask; outcome: TaskOutcome };

export interface BatchOptions {
  runId: string;
  maxParallel?: number;
  /** Keep sandboxes (stopped, with their workspaces) instead of destroying them. */
  keep?: boolean;
  signal?: AbortSignal;
  /** Where patches are written (one per task with changes). */
  outDir?: string;
  /** `--env` values and secret values, shared by every task. */
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  gitToken?: string;
  labels?: Record<string, string>;
  onEvent?: (event: BatchEvent) => void;
}

/** Default parallelism: host CPUs ÷ the largest task's vCPUs, at least 1. */
export function defaultParallelism(tasks: ResolvedTask[]): number {
  const cpus = Math.max(...tasks.map((task) => task.config.resources.cpu), 0.001);
  return Math.max(1, Math.floor(availableParallelism() / cpus));
}

/**
 * Runs every task in its own sandbox with bounded parallelism. Every task reports, whatever
 * happened to it: a task that could not start, was killed, timed out or was cancelled still
 * gets an outcome with its cost so far.
 */
export async function runBatch(service: SandboxService, tasks: ResolvedTask[], options: BatchOptions): Promise<BatchReport> {
  const startedAt = new Date();
  const limit = pLimit(options.maxParallel ?? defaultParallelism(tasks));
  const outcomes: TaskOutcome[] = new Array(tasks.length);
  // Removing a finished sandbox takes a second or more; it must not hold a slot the next task could use.
  const removals: Array<Promise<unknown>> = [];
  const remove = (id: string) => {
    if (!options.keep) removals.push(service.destroy(id, { force: true }).catch(() => undefined));
  };
  for (const task of tasks) options.onEvent?.({ type: 'queued', task });
  await Promise.all(
    tasks.map((task) =>
      limit(async () => {
        const outcome = await runTask(service, task, options, remove);
        outcomes[task.index] = outcome;
        options.onEvent?.({ type: 'finished', task, outcome });
      }),
    ),
  );
  await Promise.all(removals);
  const results = tasks.map((task) => outcomes[task.index]!);
  return { run_id: options.runId, started_at: startedAt.toISOString(), ended_at: new Date().toISOString(), results, totals: totalsOf(results) };
}

async function runTask(service: SandboxService, task: ResolvedTask, options: BatchOptions, remove: (id: string) => void): Promise<TaskOutcome> {
  const base = { index: task.index, task: task.name, prompt: task.prompt, repo: task.repo, budget: task.config.budget ?? 0 };
  const started = Date.now();
  if (options.signal?.aborted) {
    return { ...outcomeFromInfo(base, undefined, 0, null), status: 'cancelled', reason: 'the run was cancelled before this task started' };
  }
  let info: SandboxInfo | undefined;
  try {
    info = await service.create({
      config: task.config,
      name: task.name,
      repo: task.repo,
      ref: task.ref,
      prompt: task.prompt,
      env: options.env,
      secrets: options.secrets,
      gitToken: options.gitToken,
      keepWorkspace: options.keep,
      labels: { ...options.labels, [LABELS.run]: options.runId, 'dev.caged.task': String(task.index) },
    });
    options.onEvent?.({ type: 'started', task, sandbox: info });
    const id = info.id;
    const cancel = () => void service.destroy(id, { force: true }).catch(() => undefined);
    options.signal?.addEventListener('abort', cancel, { once: true });
    try {
      info = await service.wait(id);
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
    const patchPath = await savePatch(service, id, task, options.outDir);
    remove(id);
    return outcomeFromInfo(base, info, Date.now() - started, patchPath);
  } catch (error) {
    const latest = info ? await service.get(info.id).catch(() => info) : undefined;
    if (latest) remove(latest.id);
    const outcome = outcomeFromInfo(base, latest, Date.now() - started, null);
    return { ...outcome, status: options.signal?.aborted ? 'cancelled' : 'failed', reason: (error as Error).message };
  }
}

async function savePatch(service: SandboxService, id: string, task: ResolvedTask, outDir: string | undefined): Promise<string | null> {
  if (!outDir) return null;
  const patch = await service.patch(id).catch(() => '');
  if (!patch) return null;
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, `${String(task.index + 1).padStart(2, '0')}-${slug(task.name)}.patch`);
  await writeFile(path, patch);
  return path;
}

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'task';
}
