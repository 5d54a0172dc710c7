import * as core from '@actions/core';
import type { TaskOutcome } from '../batch/results.js';
import type { ResolvedTask } from '../config/resolve.js';
import type { Octokit } from '../report/pr-comment.js';
import { resolveRepo } from '../sandbox/repo-source.js';
import type { ActionContext } from './context.js';
import { deliver, planDelivery, type DeliveryTarget } from './deliver.js';
import type { Execution } from './execute.js';
import { gitAuth } from './git.js';
import type { ActionInputs } from './inputs.js';
import { cloneSource } from './tasks.js';

/** A batch task's change goes to the workspace's repository, or to the task's own repository on this GitHub server. */
export function batchTarget(context: ActionContext, task: ResolvedTask | undefined, copy: string | undefined): DeliveryTarget | undefined {
  if (copy) {
    return {
      fetchUrl: copy,
      fetchRef: 'HEAD',
      repo: { owner: context.owner, repo: context.repo },
      pushUrl: `${context.serverUrl}/${context.owner}/${context.repo}.git`,
      ...(context.branch ? { baseBranch: context.branch } : {}),
    };
  }
  if (!task?.repo) return undefined;
  const source = resolveRepo(cloneSource(task.repo, context.serverUrl));
  const prefix = `${context.serverUrl}/`;
  if (!source.url.startsWith(prefix)) return undefined;
  const [owner, name, ...rest] = source.url.slice(prefix.length).replace(/\.git$/, '').split('/');
  if (!owner || !name || rest.length > 0) return undefined;
  // A task pinned to a branch proposes its change against that branch; a commit or tag, against the default branch.
  const branch = task.ref && !/^[0-9a-f]{7,40}$/.test(task.ref) ? task.ref : undefined;
  return { fetchUrl: source.url, fetchRef: task.ref ?? 'HEAD', repo: { owner, repo: name }, pushUrl: source.url, ...(branch ? { baseBranch: branch } : {}) };
}

/** Delivers every task's change per `deliver`; a failed delivery is reported in the summary, never fatal. */
export async function deliverAll(
  inputs: ActionInputs,
  context: ActionContext,
  octokit: Octokit | undefined,
  execution: Execution,
  targetOf: (outcome: TaskOutcome) => DeliveryTarget | undefined,
): Promise<Map<number, string>> {
  const lines = new Map<number, string>();
  if (inputs.deliver === 'none' || execution.cancelled) return lines;
  const auth = gitAuth(context.serverUrl, inputs.githubToken);
  for (const outcome of execution.report.results) {
    const target = targetOf(outcome);
    const plan = planDelivery(inputs.deliver, outcome, target, context.runId);
    try {
      if (plan.kind === 'pull-request' && !octokit) throw new Error('opening a pull request needs github-token');
      lines.set(outcome.index, await deliver({ octokit: octokit!, auth, scratch: context.scratch, runUrl: context.runUrl }, plan, target, outcome));
    } catch (error) {
      const message = `delivery failed: ${auth.redact((error as Error).message)}`;
      core.warning(`caged: task ${outcome.index + 1}: ${message}`);
      lines.set(outcome.index, message);
    }
  }
  return lines;
}
