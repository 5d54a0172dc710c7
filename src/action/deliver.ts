import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskOutcome } from '../batch/results.js';
import { slug } from '../batch/run-batch.js';
import type { Octokit } from '../report/pr-comment.js';
import { git, type GitAuth } from './git.js';
import type { DeliverMode } from './inputs.js';

/** Where a task's change came from and where it may go. */
export interface DeliveryTarget {
  /** What the sandbox cloned (URL or local path) and checked out (commit, branch or HEAD). */
  fetchUrl: string;
  fetchRef: string;
  /** The GitHub repository that receives branches and pull requests. */
  repo: { owner: string; repo: string };
  pushUrl: string;
  /** Set when the task started from this pull request's head (the comment trigger). */
  pr?: { number: number; headRef: string; baseRef: string; sameRepo: boolean };
  /** Base of a new pull request; the repository's default branch when unknown. */
  baseBranch?: string;
}

export type DeliveryPlan =
  | { kind: 'none'; why: string }
  | { kind: 'patch'; why?: string }
  | { kind: 'push'; branch: string; intoPr?: number }
  | { kind: 'pull-request'; branch: string; base?: string };

export function deliveryBranch(task: string, runId: string): string {
  return `caged/${slug(task).slice(0, 40)}-${runId}`;
}

/**
 * What to do with a task's change. Only completed tasks with changes deliver. On a pull
 * request from the same repository the commit goes onto the PR branch; a fork's branch is never
 * pushed to: its change goes to a new branch of the base repository (and a PR against the PR's base).
 */
export function planDelivery(mode: DeliverMode, outcome: TaskOutcome, target: DeliveryTarget | undefined, runId: string): DeliveryPlan {
  if (mode === 'none') return { kind: 'none', why: 'deliver: none' };
  if (outcome.status !== 'completed') return { kind: 'none', why: `the task ${outcome.status === 'killed' ? 'hit its budget' : 'did not complete'}; nothing delivered` };
  if (!outcome.changes || outcome.changes.files === 0) return { kind: 'none', why: 'no changes' };
  if (mode === 'patch') return { kind: 'patch' };
  if (!target) return { kind: 'patch', why: 'not a repository of this GitHub server' };
  if (target.pr?.sameRepo) return { kind: 'push', branch: target.pr.headRef, intoPr: target.pr.number };
  const branch = deliveryBranch(outcome.task, runId);
  if (mode === 'branch') return { kind: 'push', branch };
  const base = target.pr?.baseRef ?? target.baseBranch;
  return { kind: 'pull-request', branch, ...(base ? { base } : {}) };
}

export interface DeliveryContext {
  octokit: Octokit;
  auth: GitAuth;
  scratch: string;
  runUrl: string;
}

/** Commits the task's patch on the commit it started from, in a scratch repository, and pushes it. */
async function pushPatch(context: DeliveryContext, target: DeliveryTarget, outcome: TaskOutcome, branch: string): Promise<string> {
  const patch = outcome.changes?.patch_path;
  if (!patch) throw new Error('the patch file is missing');
  const dir = await mkdtemp(join(context.scratch, 'deliver-'));
  try {
    const { auth } = context;
    await git(['init', '--quiet', dir]);
    // A shallow fetch is enough when the push goes back where the commit came from. Anywhere else
    // (a fork's commit, a workspace snapshot) the receiver would refuse a push from a shallow history.
    const depth = target.fetchUrl === target.pushUrl ? ['--depth=1'] : [];
    await git(['fetch', '--quiet', '--no-tags', ...depth, '--', target.fetchUrl, target.fetchRef], { cwd: dir, auth });
    await git(['checkout', '--quiet', '--detach', 'FETCH_HEAD'], { cwd: dir });
    await git(['apply', '--index', '--whitespace=nowarn', patch], { cwd: dir });
    const message = `caged: ${outcome.task}\n\n${outcome.prompt}\n\nRun: ${context.runUrl}`;
    await git(['commit', '--quiet', '--no-verify', '-m', message], { cwd: dir, own: true });
    // Never forced: a branch that moved on meanwhile rejects the push instead of losing work.
    await git(['push', '--quiet', '--', target.pushUrl, `HEAD:refs/heads/${branch}`], { cwd: dir, auth });
    return await git(['rev-parse', '--short', 'HEAD'], { cwd: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openPullRequest(context: DeliveryContext, target: DeliveryTarget, outcome: TaskOutcome, branch: string, base: string | undefined): Promise<string> {
  const { octokit } = context;
  const { repo } = target;
  const baseBranch = base ?? (await octokit.rest.repos.get(repo)).data.default_branch;
  const title = `caged: ${outcome.task}`.slice(0, 250);
  const body = `Changes made by caged for this prompt:\n\n<pre>${outcome.prompt.replace(/[&<>]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[char]!)}</pre>\n\n[Workflow run](${context.runUrl})`;
  try {
    const { data } = await octokit.rest.pulls.create({ ...repo, head: branch, base: baseBranch, title, body });
    return `opened pull request #${data.number} from ${branch}`;
  } catch (error) {
    if ((error as { status?: number }).status !== 422) throw error;
    const { data } = await octokit.rest.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'open' });
    const existing = data[0];
    if (!existing) throw error;
    await octokit.rest.pulls.update({ ...repo, pull_number: existing.number, title, body });
    return `updated pull request #${existing.number} from ${branch}`;
  }
}

/** Carries out a plan; the returned line goes into the summary and the comment. */
export async function deliver(context: DeliveryContext, plan: DeliveryPlan, target: DeliveryTarget | undefined, outcome: TaskOutcome): Promise<string> {
  if (plan.kind === 'none') return plan.why;
  if (plan.kind === 'patch') return `patch saved to ${outcome.changes?.patch_path ?? '(none)'}${plan.why ? ` (${plan.why})` : ''}`;
  if (!target) throw new Error('no delivery target');
  switch (plan.kind) {
    case 'push': {
      const sha = await pushPatch(context, target, outcome, plan.branch);
      return plan.intoPr ? `pushed ${sha} to the pull request's branch ${plan.branch}` : `pushed ${sha} to branch ${plan.branch}`;
    }
    case 'pull-request':
      await pushPatch(context, target, outcome, plan.branch);
      return openPullRequest(context, target, outcome, plan.branch, plan.base);
  }
}
