import * as core from '@actions/core';
import { InputError } from '../config/problems.js';
import type { TaskInput } from '../config/schema.js';
import { formatProblem } from '../config/problems.js';
import { inlineText } from '../report/markdown.js';
import { carriesMarker, type Octokit } from '../report/pr-comment.js';
import type { ActionContext } from './context.js';
import type { DeliveryTarget } from './deliver.js';
import { deliverAll } from './deliveries.js';
import { executeTasks, removeCopies } from './execute.js';
import type { ActionInputs } from './inputs.js';
import { publish, verdict } from './publish.js';
import { planTasks } from './tasks.js';
import { authorize, isTriggerComment, parseTriggerCommand, react, TRIGGER_USAGE, type Reaction } from './trigger.js';

/** Replies that are not the sticky comment carry this marker too, so the trigger ignores them. */
const REPLY_MARKER = '<!-- caged:reply -->';

interface CommentPayload {
  id: number;
  body?: string;
  user?: { login: string; type: string };
}

async function reply(octokit: Octokit, context: ActionContext, text: string): Promise<void> {
  await octokit.rest.issues.createComment({ owner: context.owner, repo: context.repo, issue_number: context.pullRequest!, body: `${REPLY_MARKER}\n${text}` });
}

/**
 * `issue_comment` (created) on a pull request whose first line is the trigger: check who asked,
 * run the prompt on the PR head, deliver, answer in the sticky comment. Anything else is left alone.
 */
export async function runCommentMode(inputs: ActionInputs, context: ActionContext, octokit: Octokit | undefined, signal: AbortSignal): Promise<void> {
  const comment = context.payload.comment as CommentPayload | undefined;
  const body = comment?.body ?? '';
  if (context.payload.action !== 'created' || !comment || carriesMarker(body) || !isTriggerComment(body, inputs.trigger)) {
    core.info(`caged: not a ${inputs.trigger} command; nothing to do`);
    return;
  }
  if (!context.pullRequest) {
    core.notice(`caged: ${inputs.trigger} works in pull request comments only`);
    return;
  }
  if (!octokit) throw InputError.at('input github-token', `answering ${inputs.trigger} comments needs github-token`);
  const repo = { owner: context.owner, repo: context.repo };
  const reaction = (content: Reaction) => react(octokit, repo, comment.id, content).catch((error: Error) => core.warning(`caged: could not react: ${error.message}`));
  const commenter = comment.user ?? { login: 'unknown', type: 'unknown' };

  let command;
  try {
    command = parseTriggerCommand(body, inputs.trigger);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    await reaction('confused');
    await reply(octokit, context, `caged did not run: ${inlineText(error.problems.map(formatProblem).join('; '))}\n\nUsage: \`${inputs.trigger} ${TRIGGER_USAGE}\``);
    throw error;
  }
  const authorization = await authorize(octokit, repo, commenter, inputs.allowedBots);
  if (!authorization.allowed) {
    await reaction('confused');
    await reply(octokit, context, `caged did not run: ${inlineText(authorization.reason)}.`);
    core.notice(`caged: refused ${inputs.trigger} from ${commenter.login}: ${authorization.reason}`);
    return;
  }
  await reaction('eyes');

  const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number: context.pullRequest });
  if (!pr.head.repo) throw new Error(`the head repository of pull request #${pr.number} is gone`);
  const sameRepo = pr.head.repo.full_name === pr.base.repo.full_name;
  const task: TaskInput = {
    prompt: command.prompt,
    // The PR head, by commit: what the commenter saw. Config and secrets come from the default branch's checkout.
    repo: pr.head.repo.clone_url,
    ref: pr.head.sha,
    ...(command.budget !== undefined ? { budget: command.budget } : {}),
    ...(command.agent ? { agent: command.agent } : {}),
    ...(command.template ? { template: command.template } : {}),
  };
  const plan = await planTasks({ ...inputs, shard: undefined }, context, [task]);
  const execution = await executeTasks(inputs, context, plan, signal);
  const target: DeliveryTarget = {
    fetchUrl: pr.head.repo.clone_url,
    fetchRef: pr.head.sha,
    repo,
    // Never a fork: its change goes to a branch of the base repository instead.
    pushUrl: sameRepo ? pr.head.repo.clone_url : pr.base.repo.clone_url,
    pr: { number: pr.number, headRef: pr.head.ref, baseRef: pr.base.ref, sameRepo },
  };
  try {
    const deliveries = await deliverAll(inputs, context, octokit, execution, () => target);
    await publish(inputs, context, octokit, {
      view: {
        report: execution.report,
        heading: `caged run for ${commenter.login}`,
        runUrl: context.runUrl,
        notes: [`${inputs.trigger} run on ${pr.head.ref} at ${pr.head.sha.slice(0, 7)}`],
        deliveries,
      },
      tasksTotal: 1,
      forceComment: true,
    });
  } finally {
    await removeCopies(execution);
  }
  const ok = execution.report.results.every((result) => result.status === 'completed');
  await reaction(ok ? 'rocket' : 'confused');
  verdict(execution.report, plan.settings.fail_on, execution.cancelled);
}
