import { join } from 'node:path';
import * as core from '@actions/core';
import { exitCodeFor, type BatchReport } from '../batch/results.js';
import type { FailOn } from '../config/schema.js';
import type { ReportView } from '../report/markdown.js';
import { commentMarkdown, stickyMarker, upsertStickyComment, type Octokit } from '../report/pr-comment.js';
import { summaryMarkdown, writeJobSummary } from '../report/summary.js';
import type { ActionContext } from './context.js';
import type { ActionInputs } from './inputs.js';
import { writeOutputs } from './outputs.js';
import type { Shard } from './shard.js';

export interface Publication {
  view: ReportView;
  shard?: Shard;
  tasksTotal: number;
  /** The comment trigger always answers in its pull request. */
  forceComment?: boolean;
}

/** Where the sticky comment goes, if anywhere: PRs (`auto`), also issues (`always`); never from a shard unless `always`. */
export function commentIssue(inputs: ActionInputs, context: ActionContext, forced = false): number | undefined {
  if (inputs.comment === 'never') return undefined;
  if (forced) return context.pullRequest;
  if (inputs.comment === 'always') return context.issue;
  return inputs.shard && inputs.shard.total > 1 ? undefined : context.pullRequest;
}

/** One sticky comment per workflow and job (and shard, so that shards never overwrite each other). */
export function markerFor(context: ActionContext, shard: Shard | undefined): string {
  return stickyMarker(context.workflow, shard && shard.total > 1 ? `${context.job}#${shard.index}` : context.job);
}

/**
 * Results file and outputs first, then the job summary, then the PR comment: every task's
 * report is out before the step may fail. A summary or comment that cannot be written is a
 * warning (an error with `comment: always`), never a reason to lose the others.
 */
export async function publish(inputs: ActionInputs, context: ActionContext, octokit: Octokit | undefined, publication: Publication): Promise<void> {
  const { view } = publication;
  const resultsFile = join(context.scratch, `results-${context.runId}.json`);
  await writeOutputs(view.report, resultsFile, publication.shard, publication.tasksTotal);
  core.info(`caged: results written to ${resultsFile}`);
  try {
    await writeJobSummary(summaryMarkdown(view));
  } catch (error) {
    core.warning(`caged: could not write the job summary: ${(error as Error).message}`);
  }
  const issue = commentIssue(inputs, context, publication.forceComment);
  if (issue === undefined) return;
  try {
    if (!octokit) throw new Error('no github-token');
    const marker = markerFor(context, publication.shard);
    const comment = await upsertStickyComment(octokit, { owner: context.owner, repo: context.repo, issueNumber: issue, marker }, commentMarkdown(view, marker));
    core.info(`caged: ${comment.created ? 'created' : 'updated'} comment ${comment.url}`);
  } catch (error) {
    const message = `caged: could not write the comment on #${issue}: ${(error as Error).message}`;
    if (inputs.comment === 'always') core.error(message);
    else core.warning(message);
  }
}

/** Fails the step per fail-on, after everything was published. */
export function verdict(report: BatchReport, failOn: FailOn, cancelled: boolean): void {
  if (cancelled) {
    core.setFailed('caged: the run was cancelled; every sandbox was stopped and the partial results were written');
    return;
  }
  const code = exitCodeFor(report.results, failOn);
  const { totals } = report;
  if (code === 3) core.setFailed(`caged: ${totals.killed} task(s) hit their budget and were killed (fail-on: ${failOn})`);
  else if (code === 4) core.setFailed(`caged: ${totals.timed_out} task(s) timed out (fail-on: ${failOn})`);
  else if (code !== 0) core.setFailed(`caged: ${totals.tasks - totals.completed} of ${totals.tasks} task(s) did not complete (fail-on: ${failOn})`);
}
